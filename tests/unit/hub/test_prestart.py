"""The timetable's pre-start: which lessons are due, and the service's place in the hub."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from traitlets.config import Config

from cartable.core import config
from cartable.hub import layers
from cartable.hub.prestart import due

CASA = ZoneInfo("Africa/Casablanca")
SLOTS = [{"class": "2BSM1", "days": ["mon", "wed"], "start": "08:00"},
         {"class": "2BSM2", "days": ["mon"], "start": "10:00"},
         {"class": "2BSM2", "days": ["tue"], "start": "00:05"}]


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 11, 23, 7, 49, tzinfo=CASA), []),  # a Monday, 11 minutes before
    (datetime(2026, 11, 23, 7, 50, tzinfo=CASA), [("2BSM1", "08:00")]),
    (datetime(2026, 11, 23, 8, 4, tzinfo=CASA), [("2BSM1", "08:00")]),  # begun 4 minutes ago: still
    (datetime(2026, 11, 23, 8, 6, tzinfo=CASA), []),
    (datetime(2026, 11, 24, 7, 55, tzinfo=CASA), []),  # Tuesday: no 08:00 lesson
    (datetime(2026, 11, 25, 7, 55, tzinfo=CASA), [("2BSM1", "08:00")]),  # Wednesday
    (datetime(2026, 11, 23, 9, 52, tzinfo=CASA), [("2BSM2", "10:00")]),
    (datetime(2026, 11, 23, 23, 58, tzinfo=CASA), [("2BSM2", "00:05")]),  # Tuesday's 00:05, the evening before
])
def test_lessons_due_within_the_prestart_window(now, expected):
    assert [(k, f"{s:%H:%M}") for k, s in due(SLOTS, now, 10)] == expected


def test_service_and_role_only_with_a_timetable(tmp_path):
    base = {"school": {"name": "Lycée Test", "code": "TST"}, "hub": {"state_dir": str(tmp_path / "state")}}
    c = Config()
    cfg = config.from_dict(base, tmp_path)
    layers.rbac(c, cfg)
    layers.services(c, cfg)
    assert "cartable-prestart" not in {s["name"] for s in c.JupyterHub.services}
    c = Config()
    cfg = config.from_dict({**base, "timetable": {"slots": SLOTS[:1]}}, tmp_path)
    assert cfg["timetable"]["prestart_minutes"] == 10
    layers.rbac(c, cfg)
    layers.services(c, cfg)
    svc = next(s for s in c.JupyterHub.services if s["name"] == "cartable-prestart")
    assert svc["command"][1:] == ["-m", "cartable.hub.prestart"]
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "cartable-prestart")
    # starts pupils' servers and reads groups; nothing of anybody else, no admin
    assert sorted(role["scopes"]) == ["read:groups", "servers!group=role:pupil"]


@pytest.mark.parametrize("slot, key", [
    ({"class": "2BSM1", "days": ["lundi"], "start": "08:00"}, "timetable.slots.0.days.0"),
    ({"class": "2BSM1", "days": ["mon"], "start": "8h"}, "timetable.slots.0.start"),
    ({"class": "2BSM1", "days": ["mon"], "start": "24:00"}, "timetable.slots.0.start"),
    ({"class": "2BSM1", "days": [], "start": "08:00"}, "timetable.slots.0.days"),
    ({"days": ["mon"], "start": "08:00"}, "timetable.slots.0.class"),
])
def test_bad_timetable_names_the_key(tmp_path, slot, key):
    with pytest.raises(config.ConfigError) as e:
        config.from_dict({"school": {"name": "L", "code": "T"}, "timetable": {"slots": [slot]}}, tmp_path)
    assert key in {p.key for p in e.value.problems}, [p.key for p in e.value.problems]


def test_a_hub_that_does_not_answer_is_tried_again_at_the_next_look(tmp_path):
    """A Hub restarting (503) must not cost the lesson its pre-start; an unknown class is logged once."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cartable.hub.prestart import check
    from cartable.hub.sync import HubClient

    asked = []

    class Hub(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            asked.append(("GET", self.path))
            if self.path.endswith("2BSM2"):
                self.send_response(404)
                self.end_headers()
                return
            status = 503 if sum(1 for m, p in asked if p == self.path) == 1 else 200
            body = json.dumps({"name": "class:TST:2BSM1", "users": ["p2", "p1"]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            asked.append(("POST", self.path))
            self.send_response(202)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = config.from_dict({"school": {"name": "L", "code": "TST"}, "timetable": {"slots": [
            {"class": "2BSM1", "days": ["mon"], "start": "08:00"},
            {"class": "2BSM2", "days": ["mon"], "start": "08:00"}]}}, tmp_path)
        client = HubClient(f"http://127.0.0.1:{server.server_port}/hub/api", "token")
        done: set = set()
        now = datetime(2026, 11, 23, 7, 55, tzinfo=CASA)
        with pytest.raises(Exception):
            check(client, cfg, done, now=now, spacing=0)  # 503: nothing remembered for 2BSM1
        assert check(client, cfg, done, now=now, spacing=0) == {"2BSM1": {"p1": 202, "p2": 202}}
        assert check(client, cfg, done, now=now, spacing=0) == {}  # once per lesson
        assert [p for m, p in asked if m == "POST"] == ["/hub/api/users/p1/server", "/hub/api/users/p2/server"]
        assert sum(1 for m, p in asked if p.endswith("2BSM2")) == 1  # unknown class: asked once, logged
    finally:
        server.shutdown()
