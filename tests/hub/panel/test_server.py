"""The server extension of « Mon cartable » on a real hub: a pupil's overview, fetch, submit
(receipt), the refusals (already fetched, not your class, after the deadline, over quota) in
French, Arabic and English, and a teacher's view: who fetched and submitted, collect,
autograde with its progress."""

from __future__ import annotations

import base64
import os
import time

import pytest
from support.lab_school import CLOSED, MINE, OPEN, OTHER, TEACHER, THEIRS

pytestmark = pytest.mark.hub


def overview(school, user) -> dict:
    r = school.panel(user, "GET", "overview")
    assert r.status_code == 200, r.text[:500]
    return r.json()


def assignment(view, course_id, name) -> dict:
    c = next(c for c in view["courses"] if c["course_id"] == course_id)
    return next(a for a in c["assignments"] if a["assignment_id"] == name)


def act(school, user, what, course_id, name):
    return school.panel(user, "POST", what, json={"course_id": course_id, "assignment_id": name})


def refusal(r, status, code=None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    if code:
        assert body["error"] == code, body
    assert set(body["messages"]) == {"fr", "ar", "en"}, body
    assert all(body["messages"].values()), body
    return body["messages"]


def test_the_panel_needs_the_servers_login(school):
    br = school.login(school.pupils()[0])
    r = br.s.get(f"{school.hub.url}/user/{br.username}/api/cartable/overview", allow_redirects=False, timeout=30)
    assert r.status_code == 200
    anonymous = school.hub.client()
    r = anonymous.s.get(f"{school.hub.url}/user/{br.username}/api/cartable/overview", allow_redirects=False,
                        timeout=30)
    assert r.status_code in (302, 401, 403), r.status_code


def test_pupil_cycle_fetch_submit_receipt(school):
    pupil = school.pupils()[0]
    view = overview(school, pupil)
    assert view["role"] == "pupil" and view["user"] == pupil
    # their own class's courses only (maths and physique-chimie), not the other class's
    assert [c["course_id"] for c in view["courses"]] == [MINE, "demo-2026-2bsm1-physique-chimie"]
    a = assignment(view, MINE, OPEN)
    assert a["fetched"] is False and a["submissions"] == [] and a["notebooks"] == [OPEN]
    assert a["due_at"].startswith("2099-06-01T17:00") and a["timezone"] == "Africa/Casablanca"

    r = act(school, pupil, "fetch", MINE, OPEN)
    assert r.status_code == 200, r.text[:500]
    assert r.json() == {"path": f"{MINE}/{OPEN}", "notebooks": [f"{OPEN}.ipynb"]}
    listing = school.login(pupil).server_api("GET", f"/contents/{MINE}/{OPEN}").json()
    assert [f["name"] for f in listing["content"]] == [f"{OPEN}.ipynb"]
    assert assignment(overview(school, pupil), MINE, OPEN)["fetched"] is True

    msgs = refusal(act(school, pupil, "fetch", MINE, OPEN), 409, "already-fetched")
    assert msgs["fr"] == f"Vous avez déjà ce devoir, dans {MINE}/{OPEN} : ouvrez-le là."
    assert msgs["ar"].startswith("لديك هذا الواجب بالفعل")

    r = act(school, pupil, "submit", MINE, OPEN)
    assert r.status_code == 200, r.text[:500]
    receipt = r.json()
    assert len(receipt["sha256"]) == 64 and receipt["late"] is False
    assert receipt["messages"]["fr"].startswith("Rendu reçu") or receipt["sha256"] in receipt["messages"]["fr"]
    assert receipt["sha256"] in receipt["messages"]["ar"]
    a = assignment(overview(school, pupil), MINE, OPEN)
    assert [s["sha256"] for s in a["submissions"]] == [receipt["sha256"]]
    assert a["submissions"][0]["submission_id"] == receipt["submission_id"]


def test_refusals_are_translated(school):
    pupil = school.pupils()[1]
    # not your class: the course of the other class, even knowing its id
    msgs = refusal(act(school, pupil, "fetch", THEIRS, OTHER), 403, "not-your-class")
    assert msgs == {"fr": "Ce devoir n'est pas un devoir de vos classes.",
                    "ar": "هذا الواجب ليس من واجبات أقسامك.",
                    "en": "This assignment is not one of your classes' assignments."}
    # nothing fetched yet
    msgs = refusal(act(school, pupil, "submit", MINE, OPEN), 409, "not-fetched")
    assert msgs["fr"] == "Récupérez ce devoir avant de le rendre."
    # after the hard deadline: the exchange's own message, passed through in the three languages
    assert act(school, pupil, "fetch", MINE, CLOSED).status_code == 200
    msgs = refusal(act(school, pupil, "submit", MINE, CLOSED), 400, "exchange")
    assert msgs["fr"].startswith("La date limite (2020-01-02 08:00) est passée"), msgs
    assert msgs["en"].startswith("The deadline (2020-01-02 08:00) has passed"), msgs
    assert msgs["ar"] and msgs["ar"] != msgs["en"] and msgs["ar"] != msgs["fr"]
    assert assignment(overview(school, pupil), MINE, CLOSED)["submissions"] == []
    # over quota (1 MB here): a big file in the folder
    assert act(school, pupil, "fetch", MINE, OPEN).status_code == 200
    big = base64.b64encode(os.urandom(1_200_000)).decode()
    br = school.login(pupil)
    r = br.server_api("PUT", f"/contents/{MINE}/{OPEN}/donnees.txt",
                      json={"type": "file", "format": "text", "content": big})
    assert r.status_code in (200, 201), r.text[:300]
    msgs = refusal(act(school, pupil, "submit", MINE, OPEN), 400, "exchange")
    assert "trop volumineux" in msgs["fr"] and "too large" in msgs["en"], msgs
    assert assignment(overview(school, pupil), MINE, OPEN)["submissions"] == []
    br.server_api("DELETE", f"/contents/{MINE}/{OPEN}/donnees.txt")
    assert act(school, pupil, "submit", MINE, OPEN).status_code == 200
    # malformed requests
    refusal(school.panel(pupil, "POST", "fetch", json={"course_id": "../x"}), 400, "bad-request")


def test_teacher_sees_who_fetched_and_submitted_collects_and_autogrades(school):
    first, second, third = school.pupils()[:3]
    for p in (first, second):  # both have submitted ps1 above; the third one has done nothing
        assert assignment(overview(school, p), MINE, OPEN)["submissions"]
    view = overview(school, TEACHER)
    assert view["role"] == "teacher"
    assert {c["course_id"] for c in view["courses"]} == {MINE, THEIRS}
    a = assignment(view, MINE, OPEN)
    rows = {p["student"]: p for p in a["pupils"]}
    assert set(school.pupils()) <= set(rows)
    assert rows[first]["fetched"] and rows[first]["submissions"] == 1
    assert rows[second]["fetched"] and rows[second]["submissions"] == 1
    assert not rows[third]["fetched"] and rows[third]["submissions"] == 0
    assert a["set_up"] and a["collected"] == [] and a["graded"] == []

    # a pupil may not collect
    refusal(act(school, first, "collect", MINE, OPEN), 403, "not-your-course")
    # nothing collected yet: autograde says so
    refusal(act(school, TEACHER, "autograde", MINE, OPEN), 409, "nothing-collected")

    r = act(school, TEACHER, "collect", MINE, OPEN)
    assert r.status_code == 200, r.text[:1000]
    assert r.json()["collected"] == sorted([first, second])

    r = act(school, TEACHER, "autograde", MINE, OPEN)
    assert r.status_code == 200, r.text[:1000]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        a = assignment(overview(school, TEACHER), MINE, OPEN)
        if not a["autograde"]["running"]:
            break
        assert len(a["graded"]) <= 2
        time.sleep(2)
    assert a["autograde"]["returncode"] == 0, a["autograde"]
    assert a["graded"] == sorted([first, second])
