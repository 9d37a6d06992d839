"""Timetable-aware pre-start on a real hub: before a class's lesson, its pupils' servers are
running; other classes' are not."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support.harness import DEMO_ROSTER, wait_for

from cartable.hub.prestart import DAYS

pytestmark = pytest.mark.hub


def test_servers_of_the_class_start_before_its_lesson(tmp_path_factory):
    from support.harness import Hub

    lesson = datetime.now(ZoneInfo("Africa/Casablanca")) + timedelta(minutes=3)
    with open(DEMO_ROSTER, newline="", encoding="utf-8") as f:
        classes = sorted({row["classe"] for row in csv.DictReader(f) if row["role"] == "élève"})
    hub = Hub(tmp_path_factory.mktemp("prestart"), settings={
        "spawner": {"mem_limit": "600M", "unix_prefix": f"p{os.getpid() % 100:02d}-"},
        "timetable": {"prestart_minutes": 10,
                      "slots": [{"class": classes[0], "days": [DAYS[lesson.weekday()]], "start": f"{lesson:%H:%M}"},
                                # another class's lesson later today: not yet
                                {"class": classes[1], "days": list(DAYS), "start": f"{lesson + timedelta(hours=1):%H:%M}"}]}})
    accounts = hub.import_roster()
    hub.start()
    try:
        first = [a["username"] for a in accounts.of("pupil", classes[0])]
        second = [a["username"] for a in accounts.of("pupil", classes[1])]
        assert len(first) >= 5

        def servers(names):
            return {n: hub.api("GET", f"/users/{n}").json().get("servers", {}).get("", {}) for n in names}

        wait_for(lambda: all(s.get("ready") for s in servers(first).values()), 180,
                 what=f"the servers of {classes[0]} before its lesson")
        assert not any(servers(second).values())  # the other class, and no teacher, is started
        teachers = [a["username"] for a in accounts.of("teacher")]
        assert not any(servers(teachers).values())
        # a pupil logging in now lands on the running server: no spawn to wait for
        pupil = accounts.of("pupil", classes[0])[0]
        br = hub.client()
        assert br.login(pupil["username"], pupil["password"]).status_code == 302
        assert br.server_ready()
        assert br.run_code("print(6 * 7)").strip() == "42"
    finally:
        for a in accounts.of("pupil", classes[0]):
            hub.api("DELETE", f"/users/{a['username']}/server")
        hub.stop()
