"""A real Cartable hub on loopback for tests: a site config in a temporary
directory, the roster imported, JupyterHub started as its own process, and a
client that uses it as a browser does (login form, cookies, XSRF, websockets)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG_PY = REPO / "hub" / "jupyterhub_config.py"
DEMO_ROSTER = REPO / "courses" / "demo" / "roster.csv"


def free_port_block(n: int = 3) -> int:
    """A port p such that p … p+n-1 are all free on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65000:
            continue
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


def outside_dir(prefix: str) -> Path:
    """A fresh directory that pupil accounts and the postgres account can traverse.

    pytest's own temporary base is private (0700) and pytest resets it at every
    session start, so state directories holding pupils' homes live here instead.
    Removed at exit unless $CARTABLE_KEEP_TEST_DIRS is set.
    """
    import atexit
    import tempfile

    d = Path(tempfile.mkdtemp(prefix=f"cartable-{prefix}-", dir="/tmp"))
    d.chmod(0o711)
    if not os.environ.get("CARTABLE_KEEP_TEST_DIRS"):
        atexit.register(_remove_with_accounts, d)
    return d


def run_in_kernel(kernel_name: str, code: str, env: dict, connection_dir: Path) -> tuple[str, int]:
    """Start the kernelspec ``kernel_name`` as a service does (jupyter_client, a real connection
    file written in ``connection_dir``, the environment ``env``), run ``code``: what it printed and
    the kernel process's real uid (psutil: the launcher execs ipykernel in the same process)."""
    import psutil
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name, connection_file=str(connection_dir / f"kernel-{uuid.uuid4()}.json"))
    km.start_kernel(env=env)
    kc = km.client()
    out = []
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        uid = psutil.Process(km.provisioner.process.pid).uids().real
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return "".join(out), uid


def _remove_with_accounts(d: Path) -> None:
    """Remove ``d`` and the Unix accounts the spawner made for homes inside it."""
    import pwd

    if os.geteuid() == 0:
        for entry in pwd.getpwall():
            if entry.pw_dir.startswith(f"{d}/"):
                subprocess.run(["userdel", entry.pw_name], capture_output=True)
    shutil.rmtree(d, True)


def _remove_site_network(group: str) -> None:
    """The nftables table and the pupil group a test hub made."""
    from cartable.hub import network

    if os.geteuid() == 0:
        network.remove(group)
        subprocess.run(["groupdel", group], capture_output=True)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as e:  # keep polling until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what} ({last!r})")


class Accounts(list):
    """Rows of credentials.csv: username, password, role, class."""

    def of(self, role: str, klass: str | None = None) -> list[dict]:
        return [a for a in self if a["role"] == role and (klass is None or klass in a["class"].split(";"))]

    def password(self, username: str) -> str:
        return next(a["password"] for a in self if a["username"] == username)


class Hub:
    """One JupyterHub process of a Cartable site."""

    def __init__(self, root: Path, database_url: str | None = None, settings: dict | None = None,
                 school_code: str = "DEMO"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port_block(7)  # public, proxy API, hub, exchange, (+4 spare), dashboards, lessons
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = outside_dir("state")
        self.homes = outside_dir("homes")
        # a pupil group of its own: the network rules of one test hub never meet another's pupils
        self.pupil_group = f"cbp-{self.port}"
        atexit.register(_remove_site_network, self.pupil_group)
        data = {
            "school": {"name": "Lycée Test", "code": school_code, "timezone": "Africa/Casablanca"},
            "hub": {"port": self.port, "state_dir": str(self.state), "database_url": database_url,
                    "cleanup_servers_on_stop": True},
            "auth": {"admins": ["admin"], "local": {"force_password_change": False}},
            "spawner": {"idle_timeout": 0, "start_timeout": 120, "homes_dir": str(self.homes)},
            "network": {"pupil_group": self.pupil_group},
        }
        for section, values in (settings or {}).items():
            data.setdefault(section, {}).update(values)
        self.config_path = self.root / "cartable.yaml"
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "hub.log"

    # -- site set-up ---------------------------------------------------------------
    @property
    def cfg(self):
        from cartable.core import config

        return config.load(self.config_path)

    def db(self):
        from cartable.core.db import for_config

        return for_config(self.cfg)

    def cli(self, *args, check=True, input=None) -> subprocess.CompletedProcess:
        exe = Path(sys.executable).with_name("cartable")
        r = subprocess.run([str(exe), "-c", str(self.config_path), *map(str, args)], capture_output=True, text=True,
                           input=input, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"cartable {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def import_roster(self, path: Path = DEMO_ROSTER) -> Accounts:
        """Import a roster and give every account a fresh password; return the accounts."""
        import csv

        self.cli("demo", "setup", path)
        with open(self.state / "demo" / "credentials.csv", newline="") as f:
            return Accounts(csv.DictReader(f))

    # -- process -------------------------------------------------------------------
    def start(self, timeout: float = 60):
        env = dict(os.environ, CARTABLE_CONFIG=str(self.config_path))
        self.state.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("jupyterhub")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(exe), "-f", str(CONFIG_PY)], cwd=self.state, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout, what=f"hub on {self.url} (log: {self.log_path})")
        return self

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"hub exited with {self.proc.returncode}:\n{self.log_tail()}")
        return requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200

    def stop(self, timeout: float = 30):
        from cartable.hub import processes

        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        # whatever the hub left behind: its services, the proxy, pupils' servers
        processes.stop(processes.site_processes(self.cfg))

    def kill_hub_only(self):
        """Crash the hub (and its services), leaving the proxy and pupil servers running."""
        from cartable.hub import processes

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        services = [p for p in processes.site_processes(self.cfg, servers=False)
                    if "configurable-http-proxy" not in " ".join(p.cmdline())]
        processes.stop(services)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""

    # -- API as the sync service (admin on users, groups, servers) -------------------
    def api(self, method: str, path: str, **kw) -> requests.Response:
        token = (self.state / "secrets" / "sync_token").read_text().strip()
        return requests.request(method, f"{self.url}/hub/api{path}", headers={"Authorization": f"token {token}"},
                                timeout=30, **kw)

    def wait_synced(self, username: str, group: str, present: bool = True, timeout: float = 30):
        def check():
            r = self.api("GET", f"/users/{username}")
            groups = r.json().get("groups", []) if r.status_code == 200 else []
            return (group in groups) == present

        return wait_for(check, timeout, what=f"{username} {'in' if present else 'out of'} {group}")

    def client(self) -> Browser:
        return Browser(self.url)


class Browser:
    """What a browser does against the hub: cookies, XSRF tokens, redirects, websockets."""

    def __init__(self, url: str):
        self.url = url
        self.s = requests.Session()
        self.username: str | None = None

    def login(self, username: str, password: str, **extra) -> requests.Response:
        r = self.s.get(f"{self.url}/hub/login", timeout=30)
        xsrf = self.s.cookies.get("_xsrf")
        data = {"username": username, "password": password, "_xsrf": xsrf, **extra}
        r = self.s.post(f"{self.url}/hub/login", data=data, timeout=60, allow_redirects=False)
        if r.status_code == 302:
            self.username = username.lower()
        return r

    def xsrf_headers(self, path_prefix: str = "/hub/") -> dict:
        for c in self.s.cookies:
            if c.name == "_xsrf" and (c.path or "/").startswith(path_prefix.rstrip("/")):
                return {"X-XSRFToken": c.value}
        token = self.s.cookies.get("_xsrf")
        return {"X-XSRFToken": token} if token else {}

    def start_server(self, timeout: float = 120) -> None:
        """What the browser does after login: /hub/spawn, then the pending page until ready."""
        r = self.s.get(f"{self.url}/hub/spawn", timeout=60, allow_redirects=False)
        assert r.status_code in (200, 302, 303), (r.status_code, r.text[:300])
        wait_for(self.server_ready, timeout, interval=0.5, what=f"server of {self.username}")

    def server_ready(self) -> bool:
        r = self.s.get(f"{self.url}/hub/api/user", headers=self.xsrf_headers(), timeout=30)
        server = r.json().get("servers", {}).get("", {})
        return bool(server.get("ready"))

    def open_lab(self, user: str | None = None) -> requests.Response:
        """GET the user's JupyterLab page the way a browser does (follows the OAuth dance)."""
        return self.s.get(f"{self.url}/user/{user or self.username}/lab", timeout=60)

    def server_xsrf(self, user: str | None = None) -> dict:
        user = user or self.username
        prefix = f"/user/{user}/"
        for c in self.s.cookies:
            if c.name == "_xsrf" and c.path and c.path.startswith(prefix.rstrip("/")):
                return {"X-XSRFToken": c.value}
        return {}

    def server_api(self, method: str, path: str, user: str | None = None, **kw) -> requests.Response:
        user = user or self.username
        headers = {**self.server_xsrf(user), **kw.pop("headers", {})}
        return self.s.request(method, f"{self.url}/user/{user}/api{path}", headers=headers, timeout=60, **kw)

    def run_code(self, code: str, timeout: float = 60) -> str:
        """Start a kernel on the own server, run ``code`` over the websocket, return its stdout."""
        from websockets.sync.client import connect

        if not self.server_xsrf():
            self.open_lab()  # as a browser would: the server's page sets its cookies
        r = self.server_api("POST", "/kernels", json={"name": "python3"})
        assert r.status_code == 201, (r.status_code, r.text[:500])
        kernel = r.json()["id"]
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.s.cookies)
        ws_url = self.url.replace("http", "ws", 1) + f"/user/{self.username}/api/kernels/{kernel}/channels"
        msg_id = uuid.uuid4().hex
        out = []
        try:
            with connect(ws_url, additional_headers={"Cookie": cookie, **self.server_xsrf()}, open_timeout=max(30, min(timeout, 300)),
                         max_size=None) as ws:
                ws.send(json.dumps({
                    "header": {"msg_id": msg_id, "username": self.username, "session": uuid.uuid4().hex,
                               "msg_type": "execute_request", "version": "5.3", "date": ""},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": True},
                }))
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    msg = json.loads(ws.recv(timeout=timeout))
                    if msg["msg_type"] == "status" and msg["content"]["execution_state"] in ("restarting", "dead"):
                        out.append("KERNEL DIED")
                        break
                    if msg.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind = msg["msg_type"]
                    if kind == "stream":
                        out.append(msg["content"]["text"])
                    elif kind == "error":
                        out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
                    elif kind == "status" and msg["content"]["execution_state"] == "idle":
                        break
        finally:
            self.server_api("DELETE", f"/kernels/{kernel}")
        return "".join(out)


class Postgres:
    """A PostgreSQL server for tests: $CARTABLE_TEST_POSTGRES_URL, or a throwaway one
    started from Debian's packages in a temporary directory."""

    def __init__(self, root: Path):
        self.root = outside_dir("postgres")
        self.proc = None
        self.created: list[str] = []
        self.admin_url = os.environ.get("CARTABLE_TEST_POSTGRES_URL")
        if not self.admin_url:
            self._start_throwaway()

    def _start_throwaway(self):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: run `make install` (it installs Debian's postgresql)")
        bindir = bins[-1].parent
        data = self.root / "pgdata"
        sock = self.root / "pgsock"
        sock.mkdir(parents=True, exist_ok=True)
        self.port = free_port_block(1)
        as_user = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            shutil.chown(self.root, "postgres")
            shutil.chown(sock, "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        # a password, as a site's database has one (network rules keep pupils off its port; the
        # password is the second lock)
        self.password = uuid.uuid4().hex
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "scram-sha-256", "-U", "postgres",
                        f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        pwfile.unlink()
        self.proc = subprocess.Popen(
            [*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(sock),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.admin_url = f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"
        wait_for(self._ready, 30, what="throwaway PostgreSQL")

    def _ready(self):
        import psycopg

        psycopg.connect(self.admin_url).close()
        return True

    def new_database(self) -> str:
        import psycopg
        from sqlalchemy.engine import make_url

        name = "cartable_" + uuid.uuid4().hex[:10]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(30)
            return
        # a server of the machine's (CARTABLE_TEST_POSTGRES_URL): drop what the tests created
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.Error:
                    pass  # left for the machine's own clean-up; never fails a test run
