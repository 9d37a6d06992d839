"""Idle memory of one pupil server: stock JupyterHub settings against Cartable's.

Starts one server on each hub (no kernel), waits for it to settle, and prints the
resident memory (RSS, and PSS where the kernel gives it) of the server's process
tree. A benchmark, not a test.

    python tests/bench/idle_memory.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from class_rush import start_stock_hub
from support.harness import Browser, Hub, outside_dir


def tree_memory(pid: int) -> tuple[float, float]:
    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    rss = pss = 0
    for p in procs:
        try:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        except psutil.Error:
            pass
    return rss / 2**20, pss / 2**20


def server_pid(username: str) -> int:
    for p in psutil.process_iter(["cmdline", "environ"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "jupyterhub.singleuser" in cmd:
            try:
                if p.environ().get("JUPYTERHUB_USER") == username:
                    return p.pid
            except psutil.Error:
                continue
    raise RuntimeError(f"no server process for {username}")


def measure(url: str, user: str, password: str, settle: float) -> tuple[float, float]:
    br = Browser(url)
    assert br.login(user, password).status_code == 302
    br.start_server(timeout=180)
    br.open_lab()
    time.sleep(settle)
    return tree_memory(server_pid(user))


def main():
    settle = 10.0
    stock_url, stop_stock = start_stock_hub()
    try:
        stock = measure(stock_url, "pupil00", "classrush", settle)
    finally:
        stop_stock()
    hub = Hub(outside_dir("idle"), settings={"hub": {"cleanup_servers_on_stop": True}})
    accounts = hub.import_roster()
    hub.start()
    try:
        pupil = accounts.of("pupil")[0]
        ours = measure(hub.url, pupil["username"], pupil["password"], settle)
    finally:
        hub.stop()
    print(f"stock rss_mb={stock[0]:.0f} pss_mb={stock[1]:.0f}")
    print(f"ours  rss_mb={ours[0]:.0f} pss_mb={ours[1]:.0f}")
    print(f"idle_memory stock_rss_mb={stock[0]:.0f} ours_rss_mb={ours[0]:.0f} ratio={stock[0] / ours[0]:.2f}")


if __name__ == "__main__":
    main()
