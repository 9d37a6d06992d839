"""The timetable's pre-start: which lessons are due, and the service's place in the hub."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from traitlets.config import Config

from cartable.hub import config, layers
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
