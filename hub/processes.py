"""Every process a site's hub started, found by what it carries, so that stopping a
site stops all of it even when JupyterHub's own clean-up stalls or the hub died.

- services carry ``CARTABLE_CONFIG`` (this site's cartable.yaml) in their environment;
- pupils' servers carry ``JUPYTERHUB_API_URL`` pointing at this site's hub port;
- the proxy is the one in ``<state_dir>/proxy.pid``.
"""

from __future__ import annotations

import os

import psutil


def site_processes(cfg, servers: bool = True) -> list[psutil.Process]:
    from cartable.hub.layers import ports

    hub_api = f"127.0.0.1:{ports(cfg)['hub']}/"
    config = str(cfg.path)
    found = []
    for p in psutil.process_iter(["pid"]):
        if p.pid == os.getpid():
            continue
        try:
            env = p.environ()
        except (psutil.Error, OSError):
            continue
        if env.get("CARTABLE_CONFIG") == config and env.get("JUPYTERHUB_SERVICE_NAME"):
            found.append(p)
        elif servers and hub_api in env.get("JUPYTERHUB_API_URL", "") and env.get("JUPYTERHUB_USER"):
            found.append(p)
    pid_file = cfg.state_dir / "proxy.pid"
    try:
        found.append(psutil.Process(int(pid_file.read_text().strip())))
    except (OSError, ValueError, psutil.Error):
        pass
    return found


def stop(procs: list[psutil.Process], grace: float = 5.0) -> int:
    """SIGTERM the processes (and their children), SIGKILL what is left after ``grace``."""
    everything = []
    for p in procs:
        try:
            everything += [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
    for p in everything:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _gone, alive = psutil.wait_procs(everything, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    return len(everything)
