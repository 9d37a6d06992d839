"""Ctrl-C on `cartable hub start` stops everything the site started."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.harness import Hub, outside_dir, wait_for

pytestmark = pytest.mark.hub


def test_ctrl_c_stops_hub_services_proxy_and_servers():
    import requests

    from cartable.hub import processes

    hub = Hub(outside_dir("stop"), settings={"hub": {"cleanup_servers_on_stop": True},
                                             "spawner": {"idle_timeout": 3600}})
    accounts = hub.import_roster()
    cmd = [str(Path(sys.executable).with_name("cartable")), "-c", str(hub.config_path), "hub", "start"]
    proc = subprocess.Popen(cmd, stdout=open(hub.log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: requests.get(f"{hub.url}/hub/api/", timeout=2).status_code == 200, 60, what="hub")
        pupil = accounts.of("pupil")[0]
        br = hub.client()
        assert br.login(pupil["username"], pupil["password"]).status_code == 302
        br.start_server()
        running = processes.site_processes(hub.cfg)
        kinds = {" ".join(p.cmdline()) for p in running}
        assert any("jupyterhub.singleuser" in k for k in kinds)
        assert any("cartable.hub.sync" in k for k in kinds)
        assert any("jupyterhub_idle_culler" in k for k in kinds)
        assert any("configurable-http-proxy" in k for k in kinds)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert proc.wait(90) == 0
        assert processes.site_processes(hub.cfg) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        processes.stop(processes.site_processes(hub.cfg))
