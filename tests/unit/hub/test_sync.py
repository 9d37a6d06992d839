"""The groups the roster asks the Hub for, computed from a real roster import."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartable.core import config
from cartable.core.db import Database, Person
from cartable.hub import roster, sync

DEMO = Path(__file__).resolve().parents[3] / "courses" / "demo" / "roster.csv"
NEXT_YEAR = Path(__file__).parent / "data" / "roster_2027.csv"


@pytest.fixture
def school(tmp_path):
    cfg = config.from_dict({"school": {"name": "Lycée Démo", "code": "DEMO"}, "hub": {"state_dir": str(tmp_path)}},
                           tmp_path)
    db = Database(cfg.database_url())
    report = roster.import_file(cfg, db, DEMO, push=False)
    assert report.ok, report.render_errors()
    return cfg, db


def test_groups_mirror_the_school(school):
    _cfg, db = school
    groups = sync.desired_groups(db)
    assert len(groups["class:DEMO:2BSM1"]["users"]) == 7
    assert len(groups["class:DEMO:2BPC1"]["users"]) == 7
    assert groups["class:DEMO:2BSM1"]["properties"]["year"] == "2026-2027"
    assert groups["course:demo-2026-2bsm1-maths"]["users"] == {"be812345"}
    assert groups["course:demo-2026-2bpc1-physique-chimie"]["users"] == {"ee456789"}
    assert groups["inspect:DEMO:maths"]["users"] == {"d789012"}
    assert groups["role:director"]["users"] == {"a345678"}
    assert len(groups["role:pupil"]["users"]) == 14
    assert len(groups["school:DEMO"]["users"]) == 18


def test_teaching_groups_for_identity_provider_logins(school):
    _cfg, db = school
    assert sync.teaching_groups(db, "be812345") == {"course:demo-2026-2bsm1-maths", "course:demo-2026-2bpc1-maths"}
    assert sync.teaching_groups(db, "d789012") == {"inspect:DEMO:maths"}
    assert sync.teaching_groups(db, "j130012345") == set()


def test_deactivated_people_leave_every_group_and_change_the_fingerprint(school):
    _cfg, db = school
    before = sync.fingerprint(sync.desired_groups(db), sync.inactive_users(db))
    with db.session() as s:
        s.get(Person, "j130012345").active = False
    groups = sync.desired_groups(db)
    assert not any("j130012345" in g["users"] for g in groups.values())
    assert sync.inactive_users(db) == {"j130012345"}
    assert sync.fingerprint(groups, sync.inactive_users(db)) != before


def test_rollover_keeps_only_the_current_years_classes_in_the_hub(school):
    cfg, db = school
    report = roster.import_file(cfg, db, NEXT_YEAR, push=False)
    assert report.ok, report.render_errors()
    groups = sync.desired_groups(db)
    years = {g["properties"].get("year") for n, g in groups.items() if n.startswith("class:")}
    assert years == {"2027-2028"}
    assert all("-2027-" in n for n in groups if n.startswith("course:"))
