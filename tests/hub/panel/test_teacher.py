"""The teacher's side of « Mon cartable » on a real hub (issue 6): release from the course's
``source/`` folder with deadlines typed in the school's time zone, per-pupil extensions shown in
the roster, return feedback; the refusals (bad or past date, unknown assignment, not your
pupil, nothing graded) in French, Arabic and English.

Attacks: a pupil (through their own server's panel, and straight to the exchange with their
own Hub token) and a teacher of another subject try the teacher's actions; nothing changes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import zoneinfo

import pytest
from support.exchange import Tokens
from support.lab_school import CLOSED, MINE, OPEN, TEACHER, THEIRS, put_source

pytestmark = pytest.mark.hub
PHYSICS = "ee456789"  # teaches physique-chimie in 2BSM1, not maths
TZ = zoneinfo.ZoneInfo("Africa/Casablanca")
NEW = "dm2"


@pytest.fixture(scope="module")
def tokens(school):
    return Tokens(school.hub, school.accounts)


def school_time(days: float, hour: int = 18) -> tuple[str, str]:
    """A `datetime-local` value in the school's time zone, and the UTC instant it means."""
    day = (dt.datetime.now(TZ) + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day.strftime("%Y-%m-%dT%H:%M"), day.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def overview(school, user) -> dict:
    r = school.panel(user, "GET", "overview")
    assert r.status_code == 200, r.text[:500]
    return r.json()


def course_of(view, course_id=MINE) -> dict:
    return next(c for c in view["courses"] if c["course_id"] == course_id)


def assignment(view, name, course_id=MINE) -> dict:
    return next(a for a in course_of(view, course_id)["assignments"] if a["assignment_id"] == name)


def refused(r, status, code=None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:800])
    body = r.json()
    if code:
        assert body["error"] == code, body
    assert set(body["messages"]) == {"fr", "ar", "en"} and all(body["messages"].values()), body
    assert len(set(body["messages"].values())) == 3, body  # really translated
    return body["messages"]


def release(school, user, name, due, hard="", practice=False, course=MINE):
    return school.panel(user, "POST", "release", json={"course_id": course, "assignment_id": name, "due": due,
                                                       "hard_deadline": hard, "practice": practice})


def extend(school, user, name, pupil, due, hard="", course=MINE):
    return school.panel(user, "POST", "extend", json={"course_id": course, "assignment_id": name, "student": pupil,
                                                      "due": due, "hard_deadline": hard})


def act(school, user, what, name, course=MINE):
    return school.panel(user, "POST", what, json={"course_id": course, "assignment_id": name})


def test_teacher_sees_the_course_sources_and_the_school_time_zone(school):
    put_source(school, NEW)
    c = course_of(overview(school, TEACHER))
    assert c["timezone"] == "Africa/Casablanca"
    view = overview(school, TEACHER)
    assert view["zone"]["name"] == "Africa/Casablanca" and len(view["zone"]["offsets"]) > 100
    sources = {s["name"]: s["released"] for s in c["sources"]}
    assert sources[OPEN] is True and sources[CLOSED] is True and sources[NEW] is False
    # the roster carries each pupil's extension (none yet)
    assert all(p["extension"] is None for p in assignment(overview(school, TEACHER), OPEN)["pupils"])


def test_release_refusals_are_translated(school):
    future, _ = school_time(3)
    msgs = refused(release(school, TEACHER, NEW, "demain 18h"), 400, "bad-date")
    assert msgs["fr"] == "« demain 18h » n'est pas une date et une heure comme 2026-11-20 18:00."
    assert msgs["en"] == "“demain 18h” is not a date and time such as 2026-11-20 18:00."
    msgs = refused(release(school, TEACHER, NEW, ""), 400, "bad-date")
    assert msgs["fr"] == "Choisissez une date et une heure pour la date de rendu."
    msgs = refused(release(school, TEACHER, NEW, "2020-01-01T08:00"), 400, "date-past")
    assert msgs["fr"] == "La date de rendu (2020-01-01 08:00) est déjà passée : choisissez une date plus tardive."
    assert msgs["ar"] == "موعد التسليم (2020-01-01 08:00) قد مضى: اختر تاريخًا لاحقًا."
    msgs = refused(release(school, TEACHER, NEW, future, school_time(2)[0]), 400, "hard-before-due")
    assert msgs["fr"] == "La date limite stricte ne peut pas précéder la date de rendu."
    msgs = refused(release(school, TEACHER, "inconnu", future), 404, "no-such-source")
    assert msgs["fr"] == "Il n'y a pas de devoir inconnu dans le dossier source du cours."
    # nothing was released by any of these
    assert NEW not in {a["assignment_id"] for a in course_of(overview(school, TEACHER))["assignments"]}


def test_pupils_and_other_teachers_cannot_release_extend_or_return(school, tokens):
    pupil = school.pupils()[2]
    future, _ = school_time(3)
    for who in (pupil, PHYSICS):
        refused(release(school, who, OPEN, future), 403, "not-your-course")
        refused(extend(school, who, OPEN, pupil, future), 403, "not-your-course")
        refused(act(school, who, "return-feedback", OPEN), 403, "not-your-course")
    # the maths teacher of 2BSM1 does not teach 2BPC1's pupils, nor another class's course
    other = school.pupils("2BPC1")[0]
    msgs = refused(extend(school, TEACHER, OPEN, other, future), 404, "not-your-pupil")
    assert msgs["fr"] == f"{other} n'est pas un élève de cette classe."
    refused(extend(school, PHYSICS, "autre", other, future, course=THEIRS), 403, "not-your-course")
    # straight to the exchange with the pupil's own Hub token: refused there too (404, like all
    # that is not one's own), and their deadline is unchanged
    ex = tokens.exchange(pupil)
    r = ex("PUT", f"courses/{MINE}/assignments/{CLOSED}/extensions/{pupil}",
           data=json.dumps({"due": "2099-01-01 08:00", "hard_deadline": "2099-01-02 08:00"}))
    assert r.status_code == 404, r.text[:300]
    r = ex("POST", f"courses/{MINE}/assignments/{OPEN}/release?due=2099-01-01", data=b"")
    assert r.status_code in (403, 404), r.text[:300]
    r = ex("GET", f"courses/{MINE}/assignments/{OPEN}/status")
    assert r.status_code == 404, r.text[:300]
    mine = next(a for a in ex("GET", "assignments").json() if a["assignment_id"] == CLOSED)
    assert mine["hard_deadline"].startswith("2020-01-02"), mine
    # and the roster shows no extension for them
    row = next(p for p in assignment(overview(school, TEACHER), CLOSED)["pupils"] if p["student"] == pupil)
    assert row["extension"] is None


def test_release_with_deadlines_in_school_time_then_release_again(school):
    due, due_utc = school_time(3)
    hard, hard_utc = school_time(4, hour=8)
    r = release(school, TEACHER, NEW, due, hard)
    assert r.status_code == 200, r.text[:1500]
    out = r.json()
    assert out["due_at"].startswith(due_utc) and out["hard_deadline"].startswith(hard_utc), (out, due, hard)
    assert out["replaced"] is False and out["timezone"] == "Africa/Casablanca"
    a = assignment(overview(school, TEACHER), NEW)
    assert a["due_at"].startswith(due_utc) and len(a["pupils"]) == len(school.pupils())
    assert {s["name"]: s["released"] for s in course_of(overview(school, TEACHER))["sources"]}[NEW] is True
    # a pupil of the class sees it, with the same deadline
    pupil = school.pupils()[3]
    seen = assignment(overview(school, pupil), NEW)
    assert seen["due_at"].startswith(due_utc) and seen["notebooks"] == [NEW]
    # released again with a later date: replaced
    later, later_utc = school_time(5)
    r = release(school, TEACHER, NEW, later)
    assert r.status_code == 200, r.text[:1500]
    assert r.json()["replaced"] is True and r.json()["due_at"].startswith(later_utc)
    assert assignment(overview(school, pupil), NEW)["due_at"].startswith(later_utc)


def test_extension_lets_one_pupil_submit_after_the_class_deadline(school):
    lucky, other = school.pupils()[5], school.pupils()[6]
    until, until_utc = school_time(2)
    msgs = refused(extend(school, TEACHER, CLOSED, lucky, "2020-05-05T10:00"), 400, "date-past")
    assert msgs["en"] == "The due date (2020-05-05 10:00) has already passed: choose a later date."
    r = extend(school, TEACHER, CLOSED, lucky, until)
    assert r.status_code == 200, r.text[:800]
    assert r.json()["due_at"].startswith(until_utc) and r.json()["student"] == lucky
    rows = {p["student"]: p for p in assignment(overview(school, TEACHER), CLOSED)["pupils"]}
    assert rows[lucky]["extension"]["due_at"].startswith(until_utc)
    assert rows[lucky]["extension"]["set_by"] == TEACHER
    assert rows[other]["extension"] is None
    # the pupil's own deadline moved; the hard deadline with it (a later due moves it too)
    mine = assignment(overview(school, lucky), CLOSED)
    assert mine["due_at"].startswith(until_utc)
    for p in (lucky, other):
        assert act(school, p, "fetch", CLOSED).status_code == 200
    r = act(school, lucky, "submit", CLOSED)
    assert r.status_code == 200, r.text[:800]
    assert r.json()["late"] is False
    msgs = refused(act(school, other, "submit", CLOSED), 400, "exchange")
    assert msgs["fr"].startswith("La date limite (2020-01-02 08:00) est passée"), msgs


def test_return_feedback_after_grading(school):
    pupils = school.pupils()[3:5]
    refused(act(school, TEACHER, "return-feedback", NEW), 409, "nothing-graded")
    for p in pupils:
        assert act(school, p, "fetch", NEW).status_code == 200
        assert act(school, p, "submit", NEW).status_code == 200
    assert act(school, TEACHER, "collect", NEW).json()["collected"] == sorted(pupils)
    assert act(school, TEACHER, "autograde", NEW).status_code == 200
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        a = assignment(overview(school, TEACHER), NEW)
        if not a["autograde"]["running"]:
            break
        time.sleep(2)
    assert a["autograde"]["returncode"] == 0 and a["graded"] == sorted(pupils), a["autograde"]
    assert a["feedback_returned"] == []
    # a pupil cannot fetch feedback that was not returned
    refused(act(school, pupils[0], "feedback", NEW), 404, "no-feedback")
    r = act(school, TEACHER, "return-feedback", NEW)
    assert r.status_code == 200, r.text[:1500]
    assert r.json()["feedback_returned"] == sorted(pupils)
    assert assignment(overview(school, TEACHER), NEW)["feedback_returned"] == sorted(pupils)
    # the pupil opens it: their own feedback, hidden tests kept hidden
    r = act(school, pupils[0], "feedback", NEW)
    assert r.status_code == 200, r.text[:800]
    paths = r.json()["paths"]
    assert paths and all(p.endswith(".html") for p in paths)
    html = school.login(pupils[0]).server_api("GET", f"/contents/{paths[0]}?content=1&format=text&type=file")
    assert html.status_code == 200, html.text[:300]
    assert "HIDDEN TESTS" not in html.json()["content"]


def test_release_in_practice_mode_grades_each_submission_at_once(school):
    """The panel's *Mode entraînement* checkbox: `cartable course release --practice`."""
    name, pupil = "dm3", school.pupils()[6]
    put_source(school, name)
    due, _ = school_time(2)
    r = release(school, TEACHER, name, due, practice=True)
    assert r.status_code == 200, r.text[:1500]
    assert act(school, pupil, "fetch", name).status_code == 200
    assert act(school, pupil, "submit", name).status_code == 200
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        practice = assignment(overview(school, pupil), name)["practice"]
        if practice and practice["status"] in ("graded", "failed"):
            break
        time.sleep(2)
    # the pupil's answer is the released (empty) one: graded at once, zero of the test's 2 points
    assert practice["status"] == "graded" and practice["max_score"] == 3 and practice["score"] == 0, practice
