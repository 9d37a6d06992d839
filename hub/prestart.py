"""Timetable-aware pre-start: a class's pupils' servers are started before its lesson begins.

On a 2-core school machine a class logging in together queues behind some 2 s of CPU per server
start; started a few minutes ahead, each pupil finds a running server and waits only for a
kernel. ``cartable.yaml``'s ``timetable`` section lists the lessons (class, days, start time in
the school's time zone) and how many minutes ahead to start (``prestart_minutes``).

The ``cartable-prestart`` Hub service checks the timetable every ``--interval`` seconds. For each
lesson starting within ``prestart_minutes`` (or begun less than :data:`LATE` ago), it asks the Hub
to start the server of each member of the class's group, one every ``--spacing`` seconds, once
per lesson. Its role may start servers of pupils only (``servers!group=role:pupil``). A server
already running or starting is left as it is. The idle culler stops servers nobody used, as
for any other server.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cartable.core import roles
from cartable.core.hubapi import HubAPI

log = logging.getLogger("cartable.prestart")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: a lesson begun less than this long ago still gets its servers (the hub restarted at 08:02)
LATE = timedelta(minutes=5)


def due(slots: list[dict], now: datetime, minutes: int) -> list[tuple[str, datetime]]:
    """``(class, start)`` of the timetable's lessons starting within ``minutes`` after ``now``
    (an aware time in the school's zone), or begun less than :data:`LATE` ago."""
    out = []
    for day_offset in (0, 1):  # a lesson just after midnight, pre-started the evening before
        day = now + timedelta(days=day_offset)
        for slot in slots:
            hour, minute = (int(x) for x in slot["start"].split(":"))
            start = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if DAYS[start.weekday()] in slot["days"] and now - LATE <= start <= now + timedelta(minutes=minutes):
                out.append((slot["class"], start))
    return sorted(set(out), key=lambda x: (x[1], x[0]))


def start_servers(client: HubAPI, names: list[str], spacing: float) -> dict[str, int]:
    """Ask the Hub to start each user's server; ``{name: HTTP status}`` (400: running already)."""
    answers = {}
    for i, name in enumerate(names):
        if i and spacing:
            time.sleep(spacing)
        r = client.raw("POST", f"{client.user_path(name)}/server")
        answers[name] = r.status_code
        if r.status_code not in (201, 202, 400):
            log.warning("pre-start of %s refused: %s %s", name, r.status_code, r.text[:200])
    return answers


def check(client: HubAPI, cfg, done: set, now: datetime | None = None, spacing: float = 2.0) -> dict:
    """One look at the timetable: start the servers of the lessons due now; ``done`` remembers
    the lessons already served. Returns ``{class: {user: status}}`` of what was asked."""
    tt = cfg["timetable"]
    now = now or datetime.now(ZoneInfo(cfg["school"]["timezone"]))
    asked = {}
    for klass, start in due(tt["slots"], now, tt["prestart_minutes"]):
        key = (klass, start.isoformat())
        if key in done:
            continue
        group = roles.class_group(cfg["school"]["code"], klass)
        model = client.group(group)  # an error (the Hub restarting): tried again at the next look
        if model is None:
            done.add(key)
            log.warning("timetable: class %s (lesson at %s) is not in the roster", klass, f"{start:%H:%M}")
            continue
        done.add(key)
        names = sorted(model.get("users", []))
        log.info("lesson of %s at %s: starting %d servers", klass, f"{start:%H:%M}", len(names))
        asked[klass] = start_servers(client, names, spacing)
    return asked


def loop(cfg, interval: float = 30.0, spacing: float = 2.0) -> None:
    client = HubAPI.from_env()
    done: set = set()
    while True:
        try:
            check(client, cfg, done, spacing=spacing)
        except Exception:
            log.exception("timetable pre-start failed; retrying")
        time.sleep(interval)


def main(argv=None):
    from cartable.core import config, service

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between two looks at the timetable")
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between two server starts")
    args = parser.parse_args(argv)
    service.setup_logging()
    try:
        loop(config.load(), args.interval, args.spacing)
    except KeyboardInterrupt:
        log.info("stopped")


if __name__ == "__main__":
    main()
