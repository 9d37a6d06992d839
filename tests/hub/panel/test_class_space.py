"""The class's shared space (issue 6): announcements and exposés, at the exchange service
(direct calls with each user's Hub token) and through the panel's server extension.

Attacks: a pupil or a teacher of another class reads or posts (404, like the rest of the
exchange); a pupil posts an announcement or withdraws a classmate's exposé (refused, with
a message in French, Arabic and English); a script in an announcement or an exposé never
runs: announcements are JSON data (the panel shows them as text), exposés are cleaned when
published (cartable.core.sanitize) and served with a
``sandbox`` Content-Security-Policy that forbids every script.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support.exchange import Tokens
from support.lab_school import MINE, TEACHER, THEIRS

from cartable.core import sanitize

pytestmark = pytest.mark.hub
PHYSICS = "ee456789"  # teaches physique-chimie in 2BSM1, not maths
SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SCRIPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def tokens(school):
    return Tokens(school.hub, school.accounts)


def refused(r, status, code=None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    if code:
        assert body["error"] == code, body
    assert set(body["messages"]) == {"fr", "ar", "en"} and all(body["messages"].values()), body
    return body["messages"]


def listed(ex, course) -> dict:
    r = ex("GET", f"courses/{course}/announcements")
    assert r.status_code == 200, r.text[:500]
    return {a["announcement_id"]: a for a in r.json()}


# --------------------------------------------------------------------------- exchange: announcements


def test_announcement_is_plain_text_for_the_class_unread_until_opened(school, tokens):
    teacher = tokens.exchange(TEACHER)
    a, b = (tokens.exchange(p) for p in school.pupils()[5:7])
    text = f"Rendez le devoir vendredi.\n{SCRIPT}\nمع التحية"
    r = teacher("POST", f"courses/{MINE}/announcements", json={"title": "Devoir <b>ps1</b>", "body": text})
    assert r.status_code == 201, r.text[:500]
    ann = r.json()
    # stored and given back as data, exactly as typed, in a JSON answer no browser renders as a page
    assert ann["title"] == "Devoir <b>ps1</b>" and ann["body"] == text and ann["author"] == TEACHER
    r = a("GET", f"courses/{MINE}/announcements")
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    mine = listed(a, MINE)[ann["announcement_id"]]
    assert mine["read"] is False and mine["body"] == text
    assert listed(b, MINE)[ann["announcement_id"]]["read"] is False
    assert listed(teacher, MINE)[ann["announcement_id"]]["read"] is None  # teachers have no read state

    r = a("POST", f"courses/{MINE}/announcements/{ann['announcement_id']}/read")
    assert r.status_code == 200, r.text[:300]
    assert a("POST", f"courses/{MINE}/announcements/{ann['announcement_id']}/read").status_code == 200  # twice: same
    assert listed(a, MINE)[ann["announcement_id"]]["read"] is True
    assert listed(b, MINE)[ann["announcement_id"]]["read"] is False  # per pupil
    # the newest first
    r = teacher("POST", f"courses/{MINE}/announcements", json={"title": "Second", "body": "Texte"})
    assert [x["title"] for x in a("GET", f"courses/{MINE}/announcements").json()][:2] == ["Second",
                                                                                           "Devoir <b>ps1</b>"]
    # withdrawn: gone for everyone
    assert teacher("DELETE", f"courses/{MINE}/announcements/{r.json()['announcement_id']}").status_code == 200
    assert r.json()["announcement_id"] not in listed(a, MINE)


def test_announcements_refusals(school, tokens):
    teacher = tokens.exchange(TEACHER)
    pupil = tokens.exchange(school.pupils()[5])
    other_class = tokens.exchange(school.pupils("2BPC1")[0])
    physics = tokens.exchange(PHYSICS)
    ann = teacher("POST", f"courses/{MINE}/announcements", json={"title": "Privé", "body": "Pour 2BSM1"}).json()
    before = len(listed(teacher, MINE))

    # a pupil of the class may not post, nor withdraw
    msgs = refused(pupil("POST", f"courses/{MINE}/announcements", json={"title": "x", "body": "y"}), 403,
                   "teachers-only")
    assert msgs["fr"] == "Seuls les enseignants de la classe peuvent publier des annonces."
    assert msgs["ar"] == "لا يمكن نشر الإعلانات إلا لأساتذة القسم."
    refused(pupil("DELETE", f"courses/{MINE}/announcements/{ann['announcement_id']}"), 403, "teachers-only")
    # another class's pupil, another course's teacher: nothing there (404), whatever they know
    for ex in (other_class, physics):
        refused(ex("GET", f"courses/{MINE}/announcements"), 404, "not-found")
        refused(ex("POST", f"courses/{MINE}/announcements", json={"title": "x", "body": "y"}), 404, "not-found")
        refused(ex("POST", f"courses/{MINE}/announcements/{ann['announcement_id']}/read"), 404, "not-found")
        refused(ex("DELETE", f"courses/{MINE}/announcements/{ann['announcement_id']}"), 404, "not-found")
    # an announcement of one course through the path of another the caller belongs to
    refused(other_class("POST", f"courses/{THEIRS}/announcements/{ann['announcement_id']}/read"), 404)
    assert ann["announcement_id"] not in listed(teacher, THEIRS)
    # empty, too long, not JSON, forged identity
    refused(teacher("POST", f"courses/{MINE}/announcements", json={"title": " ", "body": "y"}), 400, "empty")
    refused(teacher("POST", f"courses/{MINE}/announcements", json={"title": "t", "body": "y" * 10_001}), 400,
            "too-long")
    refused(teacher("POST", f"courses/{MINE}/announcements", data=b"<html>"), 400, "bad-request")
    refused(pupil("GET", f"courses/{MINE}/announcements", params={"user": TEACHER}), 400, "forged")
    assert len(listed(teacher, MINE)) == before


# --------------------------------------------------------------------------- exchange: exposés


def publish(ex, course, html: str, title="Mon exposé", notebook="expose.ipynb"):
    return ex("POST", f"courses/{course}/exposes", params={"title": title, "notebook": notebook},
              data=html.encode(), headers={"Content-Type": "text/html; charset=UTF-8"})


def exposes(ex, course) -> dict:
    r = ex("GET", f"courses/{course}/exposes")
    assert r.status_code == 200, r.text[:500]
    return {e["expose_id"]: e for e in r.json()}


def test_expose_is_read_by_the_class_in_a_sandbox_and_withdrawn(school, tokens):
    teacher = tokens.exchange(TEACHER)
    author, classmate = (tokens.exchange(p) for p in school.pupils()[5:7])
    html = f"<html><body><h1>Les suites</h1><p>u(n+1) = 2 u(n)</p>{SCRIPT}</body></html>"
    r = publish(author, MINE, html, title="Les suites <i>géométriques</i>")
    assert r.status_code == 201, r.text[:500]
    e = r.json()
    assert e["author"] == school.pupils()[5] and e["mine"] is True
    seen = exposes(classmate, MINE)[e["expose_id"]]
    assert seen["mine"] is False and seen["title"] == "Les suites <i>géométriques</i>"
    assert e["expose_id"] in exposes(teacher, MINE)

    for ex in (classmate, teacher, author):
        r = ex("GET", f"exposes/{e['expose_id']}")
        assert r.status_code == 200
        # kept as published once cleaned: its text, none of its script (cartable.core.sanitize)
        assert r.text == sanitize.page(html, title=e["title"])
        assert "<h1>Les suites</h1>" in r.text and "<script" not in r.text and "onerror" not in r.text
        # the page is shown as published, but no script of it may run, nor any request leave it
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert r.headers["Content-Security-Policy"] == SANDBOX
        assert r.headers["X-Content-Type-Options"] == "nosniff"

    # a classmate may not withdraw it; the teacher may
    msgs = refused(classmate("DELETE", f"exposes/{e['expose_id']}"), 403, "not-yours")
    assert msgs["fr"] == "Seuls son auteur ou l'enseignant de la classe peuvent retirer cet exposé."
    assert e["expose_id"] in exposes(classmate, MINE)
    assert teacher("DELETE", f"exposes/{e['expose_id']}").status_code == 200
    assert e["expose_id"] not in exposes(classmate, MINE)
    refused(classmate("GET", f"exposes/{e['expose_id']}"), 404, "not-found")
    # its author may withdraw their own
    own = publish(author, MINE, "<p>brouillon</p>").json()
    assert author("DELETE", f"exposes/{own['expose_id']}").status_code == 200
    assert own["expose_id"] not in exposes(author, MINE)


def test_exposes_refusals(school, tokens):
    teacher = tokens.exchange(TEACHER)
    author = tokens.exchange(school.pupils()[5])
    other_class = tokens.exchange(school.pupils("2BPC1")[0])
    physics = tokens.exchange(PHYSICS)
    e = publish(author, MINE, "<p>Pour ma classe</p>").json()
    for ex in (other_class, physics):
        refused(ex("GET", f"exposes/{e['expose_id']}"), 404, "not-found")
        refused(ex("DELETE", f"exposes/{e['expose_id']}"), 404, "not-found")
        refused(ex("GET", f"courses/{MINE}/exposes"), 404, "not-found")
    assert e["expose_id"] not in exposes(other_class, THEIRS)
    # publishing to a class one is not in: 404; teachers do not publish exposés
    refused(publish(other_class, MINE, "<p>intrus</p>"), 404, "not-found")
    msgs = refused(publish(teacher, MINE, "<p>x</p>"), 403, "pupils-only")
    assert msgs["ar"] == "ينشر العروضَ تلاميذُ القسم."
    # a title is needed; not HTML text
    refused(publish(author, MINE, "<p>x</p>", title=""), 400, "bad-title")
    r = author("POST", f"courses/{MINE}/exposes", params={"title": "bin"}, data=b"\xff\xfe\x00binary")
    refused(r, 400, "not-html")
    assert e["expose_id"] in exposes(teacher, MINE) and len(exposes(teacher, MINE)) == len(exposes(author, MINE))
    assert teacher("DELETE", f"exposes/{e['expose_id']}").status_code == 200


# --------------------------------------------------------------------------- through the panel's server extension


def panel_course(school, user, course) -> dict:
    r = school.panel(user, "GET", "overview")
    assert r.status_code == 200, r.text[:500]
    return next(c for c in r.json()["courses"] if c["course_id"] == course)


def test_panel_announcement_posted_by_teacher_read_by_pupil(school):
    pupil, other = school.pupils()[0], school.pupils("2BPC1")[1]
    r = school.panel(TEACHER, "POST", "announce", json={"course_id": MINE, "title": "Contrôle lundi",
                                                         "body": "Révisez les suites.\n" + SCRIPT})
    assert r.status_code == 200, r.text[:500]
    ann_id = r.json()["announcement_id"]
    a = next(x for x in panel_course(school, pupil, MINE)["announcements"] if x["announcement_id"] == ann_id)
    assert a["read"] is False and a["body"].endswith(SCRIPT)
    assert any(x["announcement_id"] == ann_id for x in panel_course(school, TEACHER, MINE)["announcements"])

    r = school.panel(pupil, "POST", "announcement-read", json={"course_id": MINE, "announcement_id": ann_id})
    assert r.status_code == 200, r.text[:500]
    a = next(x for x in panel_course(school, pupil, MINE)["announcements"] if x["announcement_id"] == ann_id)
    assert a["read"] is True

    # a pupil may not post: the exchange's refusal, in the three languages
    msgs = refused(school.panel(pupil, "POST", "announce", json={"course_id": MINE, "title": "x", "body": "y"}),
                   400, "exchange")
    assert msgs["fr"] == "Seuls les enseignants de la classe peuvent publier des annonces."
    # another class's pupil: not found
    msgs = refused(school.panel(other, "POST", "announcement-read", json={"course_id": MINE,
                                                                          "announcement_id": ann_id}), 400)
    assert msgs["en"] == "Not found."
    assert ann_id not in {x["announcement_id"] for x in panel_course(school, other, THEIRS)["announcements"]}
    refused(school.panel(TEACHER, "POST", "announce", json={"course_id": "../x", "title": "t", "body": "b"}), 400,
            "bad-request")


def notebook_with_outputs() -> str:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Les suites géométriques\n\nUn exposé de la classe."),
        new_code_cell("print(2 ** 10)", outputs=[new_output("stream", name="stdout", text="1024\n")],
                      execution_count=1),
        new_code_cell("HTML(...)", outputs=[new_output("display_data", data={"text/html": SCRIPT,
                                                                              "text/plain": "<HTML>"})],
                      execution_count=2),
    ]
    return nbformat.writes(nb)


def test_panel_pupil_publishes_an_expose_the_class_opens_it(school):
    author, classmate, other = school.pupils()[0], school.pupils()[1], school.pupils("2BPC1")[1]
    br = school.login(author)
    r = br.server_api("PUT", "/contents/expose-suites.ipynb",
                      json={"type": "notebook", "format": "json", "content": json.loads(notebook_with_outputs())})
    assert r.status_code in (200, 201), r.text[:300]
    r = school.panel(author, "POST", "publish", json={"course_id": MINE, "path": "expose-suites.ipynb",
                                                      "title": "Les suites"})
    assert r.status_code == 200, r.text[:1000]
    expose_id = r.json()["expose_id"]
    seen = {e["expose_id"]: e for e in panel_course(school, classmate, MINE)["exposes"]}
    assert seen[expose_id]["title"] == "Les suites" and seen[expose_id]["author"] == author

    # the classmate opens the page through their own server: nbconvert's HTML with the outputs, sandboxed
    cb = school.login(classmate)
    r = cb.s.get(f"{school.hub.url}/user/{classmate}/api/cartable/exposes/{expose_id}", timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "script-src" not in csp, csp
    assert "Les suites géométriques" in r.text and "1024" in r.text
    # another class: not found
    ob = school.login(other)
    r = ob.s.get(f"{school.hub.url}/user/{other}/api/cartable/exposes/{expose_id}", timeout=60)
    assert r.status_code == 404 and "Les suites" not in r.text
    # paths outside the server's files, or not notebooks, are refused before anything is sent
    for path in ("../../etc/passwd", "/etc/hostname", "expose-suites.txt"):
        refused(school.panel(author, "POST", "publish", json={"course_id": MINE, "path": path, "title": "x"}),
                400, "bad-path")
    refused(school.panel(author, "POST", "publish", json={"course_id": MINE, "path": "absent.ipynb", "title": "x"}),
            404, "no-notebook")
    # publishing to another class
    refused(school.panel(author, "POST", "publish", json={"course_id": THEIRS, "path": "expose-suites.ipynb",
                                                          "title": "x"}), 400, "exchange")
    # a classmate may not withdraw it; the teacher does
    msgs = refused(school.panel(classmate, "POST", "withdraw-expose", json={"expose_id": expose_id}), 400, "exchange")
    assert msgs["ar"] == "لا يمكن سحب هذا العرض إلا لصاحبه أو لأستاذ القسم."
    r = school.panel(TEACHER, "POST", "withdraw-expose", json={"expose_id": expose_id})
    assert r.status_code == 200, r.text[:500]
    assert expose_id not in {e["expose_id"] for e in panel_course(school, classmate, MINE)["exposes"]}


# --------------------------------------------------------------------------- the pupil's grades


PRACTICE_SETUP = """
import contextlib, io, json, pathlib
from cartable.cli import main
buf = io.StringIO()
pathlib.Path('src').mkdir(exist_ok=True)
pathlib.Path('src/entrainement.ipynb').write_text(%(nb)r)
with contextlib.redirect_stdout(buf):
    main(["course", "create-assignment", %(course)r, "entrainement", "src/entrainement.ipynb"], standalone_mode=False)
    main(["course", "release", %(course)r, "entrainement", "--due", "2099-06-01 18:00", "--practice"],
         standalone_mode=False)
print(json.dumps({"out": buf.getvalue()}))
"""


def test_panel_shows_the_pupils_practice_score_once_graded(school):
    import time

    from support.exchange import kernel_json, source_notebook

    kernel_json(school.login(TEACHER), PRACTICE_SETUP % {"nb": source_notebook("entrainement"), "course": MINE},
                timeout=600)
    pupil, classmate = school.pupils()[2], school.pupils()[3]
    ids = {"course_id": MINE, "assignment_id": "entrainement"}
    r = school.panel(pupil, "POST", "fetch", json=ids)
    assert r.status_code == 200, r.text[:500]
    br = school.login(pupil)
    path = f"/contents/{MINE}/entrainement/entrainement.ipynb"
    nb = br.server_api("GET", path).json()["content"]
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "double":
            cell["source"] = "def double(x):\n    return x + x"
    assert br.server_api("PUT", path, json={"type": "notebook", "format": "json", "content": nb}).status_code == 200
    r = school.panel(pupil, "POST", "submit", json=ids)
    assert r.status_code == 200, r.text[:500]
    deadline = time.monotonic() + 180
    while True:
        a = next(x for x in panel_course(school, pupil, MINE)["assignments"] if x["assignment_id"] == "entrainement")
        assert a["practice"] is not None, a
        if a["practice"]["status"] not in ("queued", "grading") or time.monotonic() > deadline:
            break
        time.sleep(2)
    # the visible test passes (2 points); the written answer awaits the teacher (1 point)
    assert a["practice"]["status"] == "graded" and a["practice"]["score"] == 2 and a["practice"]["max_score"] == 3, a
    assert a["practice"]["submission_id"] == r.json()["submission_id"]
    assert a["feedback"], a  # "corrigé"
    # nothing of it in a classmate's panel; no practice line for assignments without it
    b = next(x for x in panel_course(school, classmate, MINE)["assignments"] if x["assignment_id"] == "entrainement")
    assert b["submissions"] == [] and b["practice"] is None and b["feedback"] == []
