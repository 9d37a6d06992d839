"""Class rush: N pupils log in at once over HTTP, each until a kernel answers.

Runs a stock JupyterHub (dummy authenticator, SimpleLocalProcessSpawner, default
timeouts, every installed extension) and Cartable's hub on the same machine in
the same run, and prints for each how many pupils got a working kernel, the
median and p95 time to it, and the failures. A benchmark, not a test: nothing
here asserts on time.

    python tests/bench/class_rush.py [--pupils 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.harness import REPO, Browser, Hub, free_port_block, outside_dir, wait_for

from cartable.hub.prestart import DAYS


def rush(url: str, logins: list[tuple[str, str]], timeout: float) -> list[dict]:
    """Every pupil at once: login form, start server, wait ready, run a cell."""
    results: list[dict] = [None] * len(logins)
    barrier = threading.Barrier(len(logins))

    def one(i, user, password):
        br = Browser(url)
        barrier.wait()
        t0 = time.monotonic()
        try:
            r = br.login(user, password)
            if r.status_code != 302:
                raise RuntimeError(f"login {r.status_code}")
            br.start_server(timeout=timeout)
            out = br.run_code("print(1 + 1)", timeout=timeout)
            if out.strip() != "2":
                raise RuntimeError(f"kernel said {out!r}")
            results[i] = {"user": user, "ok": True, "seconds": time.monotonic() - t0}
        except Exception as e:  # a failure is a result here
            results[i] = {"user": user, "ok": False, "seconds": time.monotonic() - t0, "error": repr(e)[:200]}

    threads = [threading.Thread(target=one, args=(i, u, p)) for i, (u, p) in enumerate(logins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summary(results: list[dict]) -> dict:
    ok = sorted(r["seconds"] for r in results if r["ok"])
    p95 = ok[max(0, int(round(0.95 * len(ok))) - 1)] if ok else float("nan")
    return {"ready": len(ok), "failed": len(results) - len(ok), "median": statistics.median(ok) if ok else float("nan"),
            "p95": p95, "errors": sorted({r.get("error", "") for r in results if not r["ok"]})}


STOCK_CONFIG = """
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "classrush"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/cookie_secret"
c.JupyterHub.cleanup_servers = True
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
import os
if os.geteuid() == 0:  # the stock simple spawner runs servers as the hub's own account
    c.Spawner.args = ["--allow-root"]
"""


def start_stock_hub():
    """A stock JupyterHub on free loopback ports; returns (url, stop)."""
    import requests

    root = Path(tempfile.mkdtemp(prefix="rush-stock-"))
    port = free_port_block(3)
    (root / "homes").mkdir()
    cfg = root / "jupyterhub_config.py"
    cfg.write_text(textwrap.dedent(STOCK_CONFIG.format(
        homes=str(root / "homes"), port=port, hub_port=port + 2, proxy_port=port + 1, root=root,
        chp=str(REPO / "node_modules" / ".bin" / "configurable-http-proxy"), python=sys.executable)))
    log = open(root / "hub.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f", str(cfg)], cwd=root,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/hub/api/", timeout=2).status_code == 200, 60, what="stock hub")

    def stop():
        proc.terminate()
        proc.wait(120)

    return url, stop


def run_stock(n: int, timeout: float) -> dict:
    url, stop = start_stock_hub()
    try:
        results = rush(url, [(f"pupil{i:02d}", "classrush") for i in range(n)], timeout)
    finally:
        stop()
    return summary(results)


def run_ours(n: int, timeout: float, prestart: bool = False) -> dict:
    """Cartable's hub; with ``prestart``, a timetable whose lesson of the rushing class begins in
    two minutes: the rush starts once the pre-start service has the class's servers running."""
    root = outside_dir("rush")
    roster = root / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["role", "identifiant", "nom", "prenom", "classe", "matieres", "annee_scolaire"])
        for i in range(n):
            w.writerow(["eleve", f"R{i:09d}", f"Eleve{i}", "Test", "2BSM1", "", "2026-2027"])
        w.writerow(["enseignant", "T000000001", "Prof", "Test", "2BSM1", "maths", "2026-2027"])
    settings = {"hub": {"cleanup_servers_on_stop": True}}
    if prestart:
        lesson = datetime.now(ZoneInfo("Africa/Casablanca")) + timedelta(minutes=2)  # the harness's zone
        settings["timetable"] = {"slots": [{"class": "2BSM1", "days": [DAYS[lesson.weekday()]],
                                            "start": f"{lesson:%H:%M}"}]}
    hub = Hub(root, settings=settings)
    accounts = hub.import_roster(roster)
    hub.start()
    try:
        pupils = [(a["username"], a["password"]) for a in accounts.of("pupil")]
        if prestart:
            began = time.monotonic()
            wait_for(lambda: all(hub.api("GET", f"/users/{u}").json().get("servers", {}).get("", {}).get("ready")
                                 for u, _ in pupils), 600, interval=2, what="pre-started servers")
            print(f"pre-start: {len(pupils)} servers running {time.monotonic() - began:.0f} s after the hub started",
                  flush=True)
        results = rush(hub.url, pupils, timeout)
    finally:
        hub.stop(timeout=120)
    return summary(results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--prestart", action="store_true",
                        help="also run Cartable's hub with a timetable: the class's servers started before the rush")
    args = parser.parse_args()
    rows = {}
    for name, fn in (("stock", run_stock), ("ours", run_ours)):
        rows[name] = s = fn(args.pupils, args.timeout)
        print(f"{name:5s} ready={s['ready']}/{args.pupils} failed={s['failed']} "
              f"median_s={s['median']:.1f} p95_s={s['p95']:.1f} errors={s['errors'][:3]}", flush=True)
    ratio = rows["stock"]["p95"] / rows["ours"]["p95"] if rows["ours"]["p95"] else float("nan")
    print(f"p95 ratio stock/ours = {ratio:.2f}")
    if args.prestart:
        s = run_ours(args.pupils, args.timeout, prestart=True)
        print(f"ours with the timetable's pre-start: ready={s['ready']}/{args.pupils} failed={s['failed']} "
              f"median_s={s['median']:.1f} p95_s={s['p95']:.1f} errors={s['errors'][:3]}; p95 ratio stock/this = "
              f"{rows['stock']['p95'] / s['p95'] if s['p95'] else float('nan'):.2f}", flush=True)
    print(f"class_rush pupils={args.pupils} stock_ready={rows['stock']['ready']} stock_p95_s={rows['stock']['p95']:.1f} "
          f"ours_ready={rows['ours']['ready']} ours_p95_s={rows['ours']['p95']:.1f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
