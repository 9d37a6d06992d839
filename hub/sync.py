"""Keep the Hub's users and groups equal to Cartable's roster.

The roster database is the source of truth. At start-up the Hub creates the
groups from :func:`load_groups`; the ``cartable-sync`` Hub service then removes
what is stale and follows every later roster change (it checks a fingerprint of
the desired state every few seconds and talks to the Hub only when it changed).
``cartable roster import`` also pushes at once when the Hub is running.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import time
from collections import defaultdict

import requests
from sqlalchemy import select

from cartable.core import roles
from cartable.core.db import Database, Enrollment, Inspection, Person, SchoolClass, Teaching
from cartable.core.hubapi import HubAPI

log = logging.getLogger("cartable.sync")
MANAGED_PREFIXES = tuple(f"{kind}:" for kind in roles.GROUP_KINDS)


def desired_groups(db: Database) -> dict[str, dict]:
    """Every group the roster asks for: ``{name: {"users": set, "properties": dict}}``."""
    groups: dict[str, dict] = defaultdict(lambda: {"users": set(), "properties": {}})
    with db.session() as s:
        people = {p.username: p for p in s.scalars(select(Person).where(Person.active.is_(True)))}
        current = {}
        for school, year in s.execute(select(SchoolClass.school, SchoolClass.year)).all():
            current[school] = max(year, current.get(school, year))
        for p in people.values():
            if p.role in roles.ROLE_GROUP:
                groups[roles.ROLE_GROUP[p.role]]["users"].add(p.username)
            groups[roles.school_group(p.school)]["users"].add(p.username)
            groups[roles.school_group(p.school)]["properties"] = {"kind": "school", "school": p.school}
        classes = s.scalars(select(SchoolClass)).all()
        for k in classes:
            if current.get(k.school) != k.year:
                continue
            name = roles.class_group(k.school, k.code)
            groups[name]["properties"] = {"kind": "class", "school": k.school, "class": k.code, "year": k.year,
                                          "level": k.level or "", "stream": k.stream or ""}
            groups[name]["users"]  # a class with no pupil left still exists
        for e, k in s.execute(select(Enrollment, SchoolClass).join(SchoolClass)).all():
            if current.get(k.school) == k.year and e.username in people:
                groups[roles.class_group(k.school, k.code)]["users"].add(e.username)
        for t, k in s.execute(select(Teaching, SchoolClass).join(SchoolClass)).all():
            if current.get(k.school) != k.year:
                continue
            course = roles.course_id(k.school, k.year, k.code, t.subject)
            g = groups[roles.course_group(course)]
            g["properties"] = {"kind": "course", "school": k.school, "class": k.code, "year": k.year, "subject": t.subject,
                               "course": course}
            if t.username in people:
                g["users"].add(t.username)
        for i in s.scalars(select(Inspection)).all():
            if current.get(i.school) == i.year and i.username in people:
                g = groups[roles.inspect_group(i.school, i.subject)]
                g["users"].add(i.username)
                g["properties"] = {"kind": "inspection", "school": i.school, "subject": i.subject}
    return dict(groups)


def teaching_groups(db: Database, username: str) -> set[str]:
    """The ``course:`` and ``inspect:`` groups the roster gives ``username`` this year.

    Used where an identity provider supplies role, school and classes but not what
    a teacher teaches or an inspector inspects."""
    out = set()
    with db.session() as s:
        current = {}
        for school, year in s.execute(select(SchoolClass.school, SchoolClass.year)).all():
            current[school] = max(year, current.get(school, year))
        for t, k in s.execute(select(Teaching, SchoolClass).join(SchoolClass).where(Teaching.username == username)):
            if current.get(k.school) == k.year:
                out.add(roles.course_group(roles.course_id(k.school, k.year, k.code, t.subject)))
        for i in s.scalars(select(Inspection).where(Inspection.username == username)):
            if current.get(i.school) == i.year:
                out.add(roles.inspect_group(i.school, i.subject))
    return out


def load_groups(db: Database) -> dict[str, dict]:
    """The value of ``JupyterHub.load_groups`` (creation and membership at start-up)."""
    return {name: {"users": sorted(g["users"]), "properties": g["properties"]} for name, g in desired_groups(db).items()}


def inactive_users(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Person.username).where(Person.active.is_(False))))


def fingerprint(groups: dict, inactive: set) -> str:
    data = json.dumps({"g": {k: [sorted(v["users"]), v["properties"]] for k, v in sorted(groups.items())},
                       "i": sorted(inactive)}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


#: the Hub's REST API (cartable.core.hubapi); kept under its former name for callers
HubClient = HubAPI


def push(client: HubAPI, db: Database) -> dict[str, int]:
    """Make the Hub's groups and users match the roster; return counts of what changed."""
    want = desired_groups(db)
    gone = inactive_users(db)
    have = client.groups()
    users = client.users()
    counts = defaultdict(int)
    missing_users = sorted({u for g in want.values() for u in g["users"]} - set(users))
    if missing_users:
        client.call("POST", "/users", json={"usernames": missing_users})
        counts["users_created"] += len(missing_users)
    for name, g in want.items():
        current = have.get(name)
        if current is None:
            client.call("POST", f"/groups/{name}", json={})
            counts["groups_created"] += 1
            current = {"users": [], "properties": {}}
        add = sorted(g["users"] - set(current["users"]))
        remove = sorted(set(current["users"]) - g["users"])
        if add:
            client.call("POST", f"/groups/{name}/users", json={"users": add})
            counts["added"] += len(add)
        if remove:
            client.call("DELETE", f"/groups/{name}/users", json={"users": remove})
            counts["removed"] += len(remove)
        if current.get("properties", {}) != g["properties"]:
            client.call("PUT", f"/groups/{name}/properties", json=g["properties"])
    for name, current in have.items():
        if name.startswith(MANAGED_PREFIXES) and name not in want and current["users"]:
            client.call("DELETE", f"/groups/{name}/users", json={"users": current["users"]})
            counts["removed"] += len(current["users"])
    for name in sorted(gone & set(users)):
        if users[name].get("server") or users[name].get("pending"):
            client.call("DELETE", f"/users/{name}/server")
            counts["servers_stopped"] += 1
    return dict(counts)


def hub_client(cfg) -> HubAPI:
    from cartable.hub.layers import ports, read_secret

    return HubAPI(f"http://127.0.0.1:{ports(cfg)['hub']}/hub/api", read_secret(cfg, "sync_token"))


def push_if_running(cfg, db: Database) -> dict | None:
    """Push the roster to the Hub now if it is running; None when it is not."""
    client = hub_client(cfg)
    try:
        client.call("GET", "/")
    except (requests.ConnectionError, RuntimeError):
        return None
    return push(client, db)


def loop(cfg, interval: float = 5.0, full_every: float = 600.0):
    """The ``cartable-sync`` service: push at start, then whenever the roster changes."""
    from cartable.core.db import for_config

    db = for_config(cfg)
    # As a Hub service, the Hub hands us its API URL and our token; else read them from the site.
    if os.environ.get("JUPYTERHUB_API_TOKEN"):
        client = HubAPI.from_env()
    else:
        client = hub_client(cfg)
    last, last_full = None, 0.0
    while True:
        try:
            fp = fingerprint(desired_groups(db), inactive_users(db))
            if fp != last or time.monotonic() - last_full > full_every:
                counts = push(client, db)
                log.info("roster pushed to the hub: %s", counts or "no change")
                last, last_full = fp, time.monotonic()
        except Exception:
            log.exception("roster sync failed; retrying")
        time.sleep(interval)


def main(argv=None):
    from cartable.core import config, service

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", action="store_true", help="keep following roster changes (the Hub service)")
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    service.setup_logging()
    cfg = config.load()
    if args.loop:
        try:
            loop(cfg, args.interval)
        except KeyboardInterrupt:
            log.info("stopped")
    else:
        from cartable.core.db import for_config

        print(push_if_running(cfg, for_config(cfg)))


if __name__ == "__main__":
    main()
