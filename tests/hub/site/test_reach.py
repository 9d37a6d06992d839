"""What a pupil's kernel can reach on a real hub run as root, as CI runs it: nothing that is not
the pupil's own (files, services, other servers), and nothing a planted file can change about the
next server start. Each probe runs in a real kernel of a real pupil server."""

from __future__ import annotations

import grp
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from sqlalchemy.engine import make_url
from support.harness import REPO, Hub, wait_for

pytestmark = [pytest.mark.hub,
              pytest.mark.skipif(os.geteuid() != 0, reason="pupils have accounts of their own only when root")]
OUTSIDE = "10.231.7.2"  # "the Internet": a host of its own (a network namespace), see ``outside``


def _listener(host: str, family=socket.AF_INET) -> tuple[socket.socket, int]:
    """A TCP service of this machine's (root's), accepting and closing connections."""
    s = socket.socket(family)
    s.bind((host, 0))
    s.listen(16)

    def serve():
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return s, s.getsockname()[1]


@pytest.fixture(scope="module")
def outside():
    """A second host on a veth pair, listening on :8080 and :8081 (``ip netns``)."""
    ns, host_if, ns_if = f"cbt{os.getpid()}", f"cbh{os.getpid()}"[:15], f"cbn{os.getpid()}"[:15]
    cmds = [["ip", "netns", "add", ns], ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
            ["ip", "link", "set", ns_if, "netns", ns], ["ip", "addr", "add", "10.231.7.1/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{OUTSIDE}/30", "dev", ns_if],
            ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"]]
    for cmd in cmds:
        subprocess.run(cmd, check=True, capture_output=True)
    servers = [subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", "--bind", OUTSIDE,
                                 str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for port in (8080, 8081)]
    for port in (8080, 8081):
        wait_for(lambda p=port: socket.create_connection((OUTSIDE, p), 1).close() or True, 30, what=f"outside:{port}")
    yield OUTSIDE
    for p in servers:
        p.kill()
        p.wait()
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["ip", "link", "del", host_if], capture_output=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory, outside, postgres):
    hub = Hub(tmp_path_factory.mktemp("reach"), settings={"network": {"allow": [f"{outside}/32:8080"]}})
    accounts = hub.import_roster()
    hub.start()
    people = {}
    pupils = accounts.of("pupil")
    teacher = accounts.of("teacher")[0]
    for who in (pupils[0], pupils[1], teacher):
        br = hub.client()
        assert br.login(who["username"], who["password"]).status_code == 302
        br.start_server()
        people.setdefault("pupils" if who["role"] != "teacher" else "teacher", []).append(br)
    yield hub, people["pupils"], people["teacher"][0]
    hub.stop()


PROBE = """
import json, socket
res = {}
for name, (family, host, port) in TARGETS.items():
    s = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET)
    s.settimeout(5)
    try:
        s.connect((host, port))
        res[name] = "open"
    except ConnectionRefusedError:
        res[name] = "refused"
    except OSError as e:
        res[name] = f"error {e.errno}"
    finally:
        s.close()
print(json.dumps(res))
"""


def probe(browser, targets: dict) -> dict:
    out = browser.run_code(f"TARGETS = {targets!r}\n" + PROBE, timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def _server_port(username: str) -> int:
    import psutil

    for p in psutil.process_iter(["cmdline", "username"]):
        if "jupyterhub.singleuser" in " ".join(p.info["cmdline"] or []) and p.info["username"].endswith(username):
            for c in p.net_connections("tcp"):
                if c.status == psutil.CONN_LISTEN:
                    return c.laddr.port
    raise AssertionError(f"no server of {username}")


def test_a_pupils_code_reaches_the_hub_the_proxy_and_the_exchange_and_nothing_else(site, postgres, outside):
    hub, (a, b), teacher = site
    p = hub.port
    machine, machine_port = _listener("127.0.0.1")
    machine6, machine6_port = _listener("::1", socket.AF_INET6)
    try:
        allowed = {"public": (4, "127.0.0.1", p), "hub-api": (4, "127.0.0.1", p + 2), "exchange": (4, "127.0.0.1", p + 3),
                   "allowed-outside": (4, outside, 8080)}
        refused = {"proxy-api": (4, "127.0.0.1", p + 1), "dashboards": (4, "127.0.0.1", p + 5),
                   "lessons": (4, "127.0.0.1", p + 6), "root-service": (4, "127.0.0.1", machine_port),
                   "root-service-v6": (6, "::1", machine6_port), "postgresql": (4, "127.0.0.1", make_url(postgres.admin_url).port or 5432),
                   "other-pupils-server": (4, "127.0.0.1", _server_port(b.username)),
                   "teachers-server": (4, "127.0.0.1", _server_port(teacher.username)),
                   "outside-other-port": (4, outside, 8081)}
        # the machine's own PostgreSQL, Redis and RabbitMQ, where they run
        for name, port in (("machine-postgresql", 5432), ("redis", 6379), ("rabbitmq", 5672)):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    refused[name] = (4, "127.0.0.1", port)
        seen = probe(a, {**allowed, **refused})
        assert {k: seen[k] for k in allowed} == {k: "open" for k in allowed}, seen
        assert {k: seen[k] for k in refused} == {k: "refused" for k in refused}, seen
        # the same services answer a teacher's kernel (the rules are the pupils'): the probe can fail
        staff = probe(teacher, {k: refused[k] for k in ("root-service", "postgresql", "outside-other-port")})
        assert set(staff.values()) == {"open"}, staff
    finally:
        machine.close()
        machine6.close()


def test_a_pupils_kernel_runs_in_the_pupil_group_and_listens_on_no_port(site):
    hub, (a, _b), _teacher = site
    out = a.run_code("import os, json\nfrom ipykernel.kernelapp import IPKernelApp\n"
                     "app = IPKernelApp.instance()\n"
                     "print(json.dumps([os.getgid(), os.getegid(), os.getgroups(), app.transport]))")
    gid, egid, groups, transport = json.loads(out.strip().splitlines()[-1])
    pupils = grp.getgrnam(hub.pupil_group).gr_gid
    assert gid == egid == pupils and groups == [pupils]
    assert transport == "ipc"


def _hidden_snippets() -> list[str]:
    """One line of each hidden-test region of the shipped library (read as root)."""
    found = []
    for nb_path in sorted((REPO / "courses").glob("e*/*/*.ipynb")):
        nb = nbformat.read(nb_path, 4)
        for cell in nb.cells:
            m = re.search(r"### BEGIN HIDDEN TESTS\n(.+)", cell.source)
            if m and len(m.group(1).strip()) > 12:
                found.append(m.group(1).strip())
                break
    return found


def test_a_pupils_kernel_reads_nothing_of_the_site_nor_any_solution(site):
    hub, (a, b), teacher = site
    state, homes = hub.state, hub.cfg.homes_dir
    private = [state / "cartable.sqlite", state / "jupyterhub.sqlite", state / "secrets" / "cookie_secret",
               state / "secrets" / "proxy_token", state / "secrets" / "sync_token", state / "demo" / "credentials.csv",
               state / "exchange", state / "lessons" / "site" / "library" / "suites.ipynb",
               homes / b.username, homes / teacher.username,
               REPO / "courses" / "catalogue.yaml", REPO / "courses" / "exercises" / "ex-suites" / "ex-suites.ipynb",
               REPO / "courses" / "exams" / "bac-blanc-maths" / "bac-blanc-maths.ipynb",
               REPO / "courses" / "tools" / "exercises.py", REPO / ".git" / "HEAD", REPO / "tests" / "support" / "harness.py"]
    private = [str(p) for p in private if p.exists()]
    assert len(private) >= 12
    out = a.run_code(
        "import os, json\nres = {}\n"
        f"for p in {private!r}:\n"
        "    try:\n"
        "        (os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1))\n"
        "        res[p] = 'read'\n"
        "    except PermissionError:\n"
        "        res[p] = 'refused'\n"
        "print(json.dumps(res))", timeout=60)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen == {p: "refused" for p in private}, seen
    snippets = _hidden_snippets()
    assert len(snippets) >= 10
    # every file of the checkout and the virtual environment the pupil can read, searched for the
    # library's hidden tests
    out = a.run_code(
        "import os, sys, json\n"
        f"SNIPPETS = {snippets!r}\nfound, files = [], 0\n"
        f"for top in ({str(REPO)!r}, sys.prefix):\n"
        "    for d, dirs, names in os.walk(top):\n"
        "        for n in names:\n"
        "            p = os.path.join(d, n)\n"
        "            if not n.endswith(('.py', '.ipynb', '.json', '.md', '.txt', '.yaml', '.html', '.csv')):\n"
        "                continue\n"
        "            try:\n"
        "                if os.path.getsize(p) > 5_000_000: continue\n"
        "                text = open(p, encoding='utf-8', errors='ignore').read()\n"
        "            except OSError:\n"
        "                continue\n"
        "            files += 1\n"
        "            found += [p for s in SNIPPETS if s in text]\n"
        "print(json.dumps([files, sorted(set(found))]))", timeout=600)
    files, found = json.loads(out.strip().splitlines()[-1])
    assert files > 1000  # the walk did read the environment
    assert found == []


PLANTED = {
    ".jupyter/jupyter_server_config.py": "open(__import__('os').path.expanduser('~/PWNED-config'), 'w').write('x')\n",
    ".jupyter/jupyter_server_config.json": '{"ServerApp": {"tornado_settings": {"headers": {"X-Planted": "yes"}}}}',
    "sitecustomize.py": "open(__import__('os').path.expanduser('~/PWNED-sitecustomize'), 'w').write('x')\n",
    "jupyterhub_config.py": "open(__import__('os').path.expanduser('~/PWNED-cwd-module'), 'w').write('x')\n",
    "tornado.py": "open(__import__('os').path.expanduser('~/PWNED-shadow'), 'w').write('x')\nraise SystemExit\n",
    ".local/lib/python3.11/site-packages/usercustomize.py":
        "open(__import__('os').path.expanduser('~/PWNED-usersite'), 'w').write('x')\n",
    ".local/share/jupyter/labextensions/evil-planted/package.json":
        '{"name": "evil-planted", "version": "1.0.0", "jupyterlab": {"_build": {"load": "static/x.js", '
        '"extension": "./extension"}}}',
    ".local/share/jupyter/labextensions/evil-planted/static/x.js": "window.PWNED = 1;",
}


def test_files_planted_in_a_pupils_home_are_ignored_by_the_next_server_start(site):
    hub, (a, _b), _teacher = site
    code = ["import os"]
    for rel, text in PLANTED.items():
        code += [f"p = os.path.expanduser('~/{rel}')", "os.makedirs(os.path.dirname(p), exist_ok=True)",
                 f"open(p, 'w').write({text!r})"]
    # the same files do act where Python would honour them: the probe can fail
    code += ["import subprocess, sys",
             "subprocess.run([sys.executable, '-c', 'import tornado'], cwd=os.path.expanduser('~'))",
             "print(os.path.exists(os.path.expanduser('~/PWNED-shadow')))",
             "[os.remove(os.path.expanduser('~/' + n)) for n in os.listdir(os.path.expanduser('~')) if n.startswith('PWNED')]"]
    assert a.run_code("\n".join(code)).strip().splitlines()[-1] == "True"
    r = a.s.delete(f"{hub.url}/hub/api/users/{a.username}/server", headers=a.xsrf_headers())
    assert r.status_code in (202, 204), r.text
    wait_for(lambda: not a.server_ready(), 60, what="server stopped")
    a.start_server()
    lab = a.open_lab()
    assert lab.status_code == 200 and "X-Planted" not in lab.headers
    assert "evil-planted" not in lab.text
    out = a.run_code("import os\nprint(sorted(n for n in os.listdir(os.path.expanduser('~')) if n.startswith('PWNED')))")
    assert out.strip().splitlines()[-1] == "[]"


def test_the_hub_refuses_to_start_while_site_state_is_readable_by_others(tmp_path):
    hub = Hub(tmp_path / "site")
    hub.import_roster()
    db = hub.state / "cartable.sqlite"
    db.chmod(0o644)
    r = subprocess.run([str(Path(sys.executable).with_name("jupyterhub")), "-f", str(REPO / "hub" / "jupyterhub_config.py")],
                       env=dict(os.environ, CARTABLE_CONFIG=str(hub.config_path)), cwd=hub.state,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert str(db) in r.stderr and "chmod 600" in r.stderr
    assert "Cartable ne démarre pas" in r.stderr and "Cartable will not start" in r.stderr
    assert not (hub.state / "jupyterhub.sqlite").exists()  # refused before JupyterHub wrote anything
