"""The assignment cycle through the exchange service, on a real hub with real servers, as
users over HTTP; every refusal of the threat model (impersonation, forged time, late,
oversized, links, traversal, guessing ids) and a restart of the service mid-cycle.
Runs on SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support.exchange import HIDDEN_VALUE, Tokens, kernel_json, member, raw_tgz, source_notebook, tgz
from support.harness import wait_for

pytestmark = pytest.mark.hub
MATHS, PHYS = "maths", "physique-chimie"
# The whole cycle (8 servers, two courses per teacher, grading, feedback) runs on the default site,
# SQLite; the PostgreSQL hub runs every test that does not need it (refusals, privacy, deadlines,
# restart), which exercise the exchange's store on both databases.
WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def course(klass: str, subject: str) -> str:
    return f"demo-2026-{klass.lower()}-{subject}"


@pytest.fixture(scope="module")
def school(database_url, tmp_path_factory):
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("exchange"), database_url=database_url,
              settings={"exchange": {"max_mb": 2, "max_files": 50, "max_notebooks": 5, "late_penalty_per_day": 10},
                        # Unix accounts of this run only: other runs use the same roster at the same time
                        "spawner": {"mem_limit": "600M", "unix_prefix": f"x{os.getpid() % 100:02d}-"}})
    accounts = hub.import_roster()
    hub.start()
    yield hub, accounts, Tokens(hub, accounts)
    hub.stop()


def teacher_of(accounts, subject):
    return next(a for a in accounts.of("teacher") if a["username"] in
                {"be812345": MATHS, "ee456789": PHYS} and {"be812345": MATHS, "ee456789": PHYS}[a["username"]] == subject)


def classes(accounts):
    return sorted({a["class"] for a in accounts.of("pupil")})


def stored_state(hub):
    objects = sorted(p.name for p in (hub.state / "exchange" / "objects").rglob("*") if p.is_file())
    tmp = list((hub.state / "exchange" / "tmp").iterdir())
    return objects, tmp


def login(hub, accounts, username, start=True):
    br = hub.client()
    assert br.login(username, accounts.password(username)).status_code == 302
    if start:
        br.start_server()
    return br


TEACHER_CODE = """
import contextlib, io, json, os, sys, pathlib
from cartable.cli import main
def cc(*args):
    # the `cartable course` command, run in the kernel's process to spare an interpreter start per call
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["course", *args], standalone_mode=False)
    return buf.getvalue()
out = {}
"""


def teacher_run(br, body: str, timeout=600):
    return kernel_json(br, TEACHER_CODE + body + "\nprint(json.dumps(out))", timeout=timeout)


# ------------------------------------------------------------------------------------ the full cycle


@pytest.fixture(scope="module")
def cycle(school):
    """Two classes × three pupils × two subjects: release, fetch, submit, collect, autograde,
    manual grading, feedback, fetch feedback, export."""
    hub, accounts, tokens = school
    klasses = classes(accounts)
    pupils = {k: [a["username"] for a in accounts.of("pupil", k)][:3] for k in klasses}
    teachers = {MATHS: "be812345", PHYS: "ee456789"}
    with ThreadPoolExecutor(8) as pool:
        browsers = dict(zip([*teachers.values(), *[p for k in klasses for p in pupils[k]]],
                            pool.map(lambda u: login(hub, accounts, u),
                                     [*teachers.values(), *[p for k in klasses for p in pupils[k]]])))
    src = source_notebook("ps1")
    def prepare(subject, t):
        body = f"pathlib.Path('src').mkdir(exist_ok=True)\npathlib.Path('src/ps1.ipynb').write_text({src!r})\n"
        for k in klasses:
            c = course(k, subject)
            body += (f"cc('init', {c!r}); cc('create-assignment', {c!r}, 'ps1', 'src/ps1.ipynb')\n"
                     f"out[{c!r}] = cc('release', {c!r}, 'ps1', '--due', '2099-06-01 18:00', '--hard', '2099-06-02 18:00')\n")
        return teacher_run(browsers[t], body)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(prepare, teachers, teachers.values()))

    def pupil_work(username, klass, rank):
        answer = "return x + x" if rank < 2 else "return x + 1"  # the third pupil fails the hidden test
        code = f"""
import json, os, sys, pathlib, nbformat, glob, io, logging
# what JupyterLab's assignment list does: nbgrader's ExchangeFactory with the server's config
from nbgrader.apps import NbGrader
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
log = io.StringIO()
logging.getLogger().addHandler(logging.StreamHandler(log))
def run(op, c, **traits):
    app = NbGrader()
    app.load_config_file()
    config = app.config
    config.CourseDirectory.course_id = c
    config.CourseDirectory.assignment_id = "ps1"
    for k, v in traits.items():
        setattr(config.ExchangeList, k, v)
    ex = getattr(ExchangeFactory(config=config), op)(coursedir=CourseDirectory(config=config),
                                                      authenticator=Authenticator(config=config), config=config)
    ex.log.addHandler(logging.StreamHandler(log))
    return ex, ex.start()
import requests
who = requests.get(os.environ["CARTABLE_EXCHANGE_URL"] + "api/whoami",
                   headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}).json()
res = {{"whoami": who}}
for c in {[course(klass, s) for s in teachers]!r}:
    res[c] = {{"list": [[a["assignment_id"], a["due_local"], a["status"]] for a in run("List", c)[1]]}}
    run("FetchAssignment", c)
    p = pathlib.Path(c, "ps1", "ps1.ipynb")
    book = nbformat.read(p, 4)
    for cell in book.cells:
        gid = cell.metadata.get("nbgrader", {{}}).get("grade_id")
        if gid == "double":
            cell.source = "def double(x):\\n    {answer}"
        if gid == "explain":
            cell.source = "Parce que."
    nbformat.write(book, p)
    ex, _ = run("Submit", c)
    res[c]["receipt"] = ex.receipt
    res[c]["cached"] = run("List", c, cached=True)[1]
res["log"] = log.getvalue()[-3000:]
print(json.dumps(res))
"""
        return kernel_json(browsers[username], code, timeout=300)

    with ThreadPoolExecutor(6) as pool:
        futures = {(k, p): pool.submit(pupil_work, p, k, i) for k in klasses for i, p in enumerate(pupils[k])}
        work = {key: f.result() for key, f in futures.items()}

    def grade(subject, t):
        first, second = (course(k, subject) for k in klasses)
        body = ""
        for c in (first, second):
            body += (f"out[{c!r}] = {{'status': json.loads(cc('status', {c!r}, 'ps1', '--json')),"
                     f" 'collect': cc('collect', {c!r}, 'ps1'), 'autograde': cc('autograde', {c!r}, 'ps1')}}\n")
        # the second course's manual part straight in the gradebook, as the formgrader does it
        body += (f"from nbgrader.api import Gradebook\n"
                 f"d = pathlib.Path.home() / 'cartable' / {second!r}\n"
                 f"with Gradebook('sqlite:///' + str(d / 'gradebook.db'), {second!r}) as gb:\n"
                 f"    for st in gb.students:\n"
                 f"        try:\n"
                 f"            g = gb.find_grade('explain', 'ps1', 'ps1', st.id)\n"
                 f"        except Exception:\n"
                 f"            continue\n"
                 f"        g.manual_score = 1\n"
                 f"    gb.db.commit()\n"
                 f"out['formgrader'] = cc('formgrader', {first!r})\n")
        out = teacher_run(browsers[t], body)
        # the first course's manual part in the formgrader, over HTTP, after a server restart
        br = browsers[t]
        assert hub.api("DELETE", f"/users/{t}/server").status_code in (202, 204)
        wait_for(lambda: not br.server_ready(), 60, what=f"{t}'s server stopped")
        br.start_server()
        fg = f"{hub.url}/user/{t}/formgrader/api"
        br.open_lab()
        subs = br.s.get(f"{fg}/submitted_notebooks/ps1/ps1", headers=br.server_xsrf(), timeout=60)
        assert subs.status_code == 200, subs.text[:300]
        out["formgrader_graded"] = []
        for nb in subs.json():
            grades = br.s.get(f"{fg}/grades", params={"submission_id": nb["id"]}, headers=br.server_xsrf(),
                              timeout=60).json()
            for g in grades:
                if g["name"] == "explain":
                    r = br.s.put(f"{fg}/grade/{g['id']}", json={"manual_score": 1}, headers=br.server_xsrf(),
                                 timeout=60)
                    assert r.status_code == 200, r.text[:300]
                    out["formgrader_graded"].append(nb["student"])
        body = ""
        for c in (first, second):
            body += (f"d = pathlib.Path.home() / 'cartable' / {c!r}\n"
                     f"out[{c!r}] = {{'feedback': cc('feedback', {c!r}, 'ps1')}}\n"
                     f"cc('export', {c!r}, '--format', 'csv', '-o', str(d / 'notes.csv'))\n"
                     f"cc('export', {c!r}, '--format', 'xlsx', '-o', str(d / 'notes.xlsx'))\n"
                     f"out[{c!r}]['csv'] = (d / 'notes.csv').read_text()\n"
                     f"out[{c!r}]['xlsx'] = (d / 'notes.xlsx').stat().st_size\n")
        after = teacher_run(br, body)
        for c in (first, second):
            out[c].update(after[c])
        return out

    with ThreadPoolExecutor(2) as pool:
        grading = dict(zip(teachers, pool.map(grade, teachers, teachers.values())))

    def pupil_feedback(username, klass):
        code = f"""
import subprocess, json, os, sys, pathlib, glob
res = {{}}
for c in {[course(klass, s) for s in teachers]!r}:
    r = subprocess.run([sys.executable, "-m", "nbgrader", "fetch_feedback", "ps1", "--course", c],
                       capture_output=True, text=True)
    files = glob.glob(os.path.join(c, "ps1", "feedback", "*", "*.html"))
    res[c] = {{"rc": r.returncode, "log": (r.stdout + r.stderr)[-1500:], "html": [open(f).read() for f in files]}}
print(json.dumps(res))
"""
        return kernel_json(browsers[username], code)

    with ThreadPoolExecutor(6) as pool:
        futures = {(k, p): pool.submit(pupil_feedback, p, k) for k in klasses for p in pupils[k]}
        feedback = {key: f.result() for key, f in futures.items()}
    return {"klasses": klasses, "pupils": pupils, "teachers": teachers, "work": work, "grading": grading,
            "feedback": feedback, "browsers": browsers}


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_pupils_fetch_and_submit_with_a_receipt(school, cycle):
    for (klass, username), res in cycle["work"].items():
        assert res["whoami"]["name"] == username  # the server's own token reaches the service
        for subject in cycle["teachers"]:
            c = course(klass, subject)
            ((name, due, status),) = res[c]["list"]
            assert name == "ps1" and due.startswith("2099-06-01T18:00") and status == "released", res["log"]
            receipt = res[c]["receipt"]
            assert receipt["student"] == username and len(receipt["sha256"]) == 64
            assert receipt["sha256"] in res["log"] and "SHA-256" in res["log"]
            (cached,) = res[c]["cached"]
            assert cached["student_id"] == username
            assert [x["sha256"] for x in cached["submissions"]] == [receipt["sha256"]]
            assert receipt["late"] is False and receipt["received_at"].endswith("+00:00")


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_teacher_sees_collects_grades_and_exports(school, cycle):
    for subject, out in cycle["grading"].items():
        assert sorted(out["formgrader_graded"]) == sorted(cycle["pupils"][cycle["klasses"][0]])
        assert "formgrader" in out["formgrader"]
        for klass in cycle["klasses"]:
            res = out[course(klass, subject)]
            submitted = {r["student"] for r in res["status"] if r["submissions"]}
            assert submitted == set(cycle["pupils"][klass])
            lines = res["csv"].strip().splitlines()
            assert lines[0].startswith("eleve,devoir,points,points_max")
            notes = {ln.split(",")[0]: ln.split(",")[-1] for ln in lines[1:]}
            good, _, bad = cycle["pupils"][klass]
            assert float(notes[good]) == 20.0  # 2 auto + 1 manual out of 3
            assert float(notes[bad]) == pytest.approx(20 / 3, abs=0.01)
            assert res["xlsx"] > 1000


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_feedback_reaches_its_pupil_without_hidden_tests(school, cycle):
    for (klass, username), res in cycle["feedback"].items():
        for subject in cycle["teachers"]:
            fb = res[course(klass, subject)]
            assert fb["rc"] == 0, fb["log"]
            (html,) = fb["html"]
            assert username in html or "ps1" in html
            assert HIDDEN_VALUE not in html and str(2 * int(HIDDEN_VALUE)) not in html
            assert "HIDDEN TESTS" not in html


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_pupil_of_class_1_does_not_see_class_2(school, cycle):
    hub, accounts, tokens = school
    k1, k2 = cycle["klasses"]
    pupil = tokens.exchange(cycle["pupils"][k1][0])
    other_course = course(k2, MATHS)
    listed = {(a["course_id"], a["assignment_id"]) for a in pupil("GET", "assignments").json()}
    assert listed == {(course(k1, MATHS), "ps1"), (course(k1, PHYS), "ps1")}
    assert pupil("GET", "assignments", params={"course_id": other_course}).json() == []
    assert pupil("GET", f"courses/{other_course}/assignments/ps1").status_code == 404
    r = pupil("POST", f"courses/{other_course}/assignments/ps1/submissions", data=tgz({"ps1.ipynb": b"{}"}))
    assert r.status_code == 404
    # the other class's submissions and feedback, whatever ids are tried
    victim = tokens.exchange(cycle["pupils"][k2][0])
    sub = victim("GET", "submissions").json()[0]
    fb = victim("GET", "feedback").json()[0]
    for path in (f"submissions/{sub['submission_id']}", f"submissions/{sub['submission_id']}/archive",
                 f"feedback/{fb['feedback_id']}"):
        assert pupil("GET", path).status_code == 404
        assert victim("GET", path).status_code == 200
    assert all(s["student"] == cycle["pupils"][k1][0] for s in pupil("GET", "submissions").json())
    assert all(s["student"] == cycle["pupils"][k1][0]
               for s in pupil("GET", "submissions", params={"course_id": other_course}).json())
    # a teacher of maths cannot collect physics
    maths_teacher = tokens.exchange(cycle["teachers"][MATHS])
    assert maths_teacher("GET", f"courses/{course(k1, PHYS)}/assignments/ps1/collect").status_code == 404


# ------------------------------------------------------------------------------------ refusals


@pytest.fixture(scope="module")
def drill(school):
    """An assignment ``drill`` released to the first class's maths course, due far ahead."""
    hub, accounts, tokens = school
    k1 = classes(accounts)[0]
    c = course(k1, MATHS)
    t = tokens.exchange("be812345")
    r = t("POST", f"courses/{c}/assignments/drill/release", params={"due": "2099-01-01 12:00"},
          data=tgz({"drill.ipynb": b'{"cells": []}'}))
    assert r.status_code == 201, r.text
    a, b = [p["username"] for p in accounts.of("pupil", k1)][:2]
    return c, a, b


def refused(r, status, code):
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["error"] == code
    assert body["messages"]["fr"] != body["messages"]["en"] and body["messages"]["ar"] != body["messages"]["en"], body
    return body


def test_adversarial_submissions_are_refused_and_nothing_is_stored(school, drill):
    hub, accounts, tokens = school
    c, a, b = drill
    ex = tokens.exchange(a)
    url = f"courses/{c}/assignments/drill/submissions"
    before = stored_state(hub)
    before_subs = ex("GET", "submissions").json()

    def zeros(total, chunk=1 << 20):
        for _ in range(total // chunk):
            yield b"\0" * chunk

    refused(ex("POST", url, params={"student": b}, data=tgz({"drill.ipynb": b"{}"})), 400, "forged")
    refused(ex("POST", url, params={"timestamp": "2020-01-01 00:00:00"}, data=tgz({"drill.ipynb": b"{}"})), 400,
            "forged")
    refused(ex("POST", url, data=tgz({"drill.ipynb": b"{}", "timestamp.txt": b"2020-01-01 00:00:00 UTC"})), 400,
            "reserved-name")
    t0 = time.monotonic()
    refused(ex("POST", url, data=zeros(2**30), headers={"Content-Length": str(2**30)}), 413, "too-large")
    try:  # no length announced: the service stops reading at the quota
        r = ex("POST", url, data=zeros(2**30))
        refused(r, 413, "too-large")
    except requests.ConnectionError:
        pass
    assert time.monotonic() - t0 < 30
    # an archive that expands beyond the quota (100 MB of zeros in 100 kB)
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as tf:
        info = tarfile.TarInfo("drill.ipynb")
        info.size = 100 * 2**20
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    assert len(bomb.getvalue()) < 2**20
    refused(ex("POST", url, data=bomb.getvalue()), 413, "too-large")
    many = {f"f{i}.txt": b"x" for i in range(100_000)}
    many["drill.ipynb"] = b"{}"
    refused(ex("POST", url, data=tgz(many)), 413, "too-many-files")
    refused(ex("POST", url, data=tgz({f"n{i}.ipynb": b"{}" for i in range(6)})), 413, "too-many-notebooks")
    other_home = str(hub.cfg.homes_dir / b)
    refused(ex("POST", url, data=raw_tgz([member("drill.ipynb", data=b"{}"),
                                          member("notes", tarfile.SYMTYPE, other_home)])), 400, "link")
    refused(ex("POST", url, data=raw_tgz([member("drill.ipynb", data=b"{}"),
                                          member("x", tarfile.LNKTYPE, "/etc/passwd")])), 400, "link")
    refused(ex("POST", url, data=raw_tgz([member("drill.ipynb", data=b"{}"),
                                          member("../../../etc/cron.d/x", data=b"{}")])), 400, "path-traversal")
    refused(ex("POST", url, data=raw_tgz([member("/etc/x", data=b"{}")])), 400, "path-traversal")
    refused(ex("POST", url, data=raw_tgz([member("drill.ipynb", data=b"{}"),
                                          member("a\x1b[2Jb.txt", data=b"x")])), 400, "control-character")
    refused(ex("POST", url, data=b"this is not a tar archive"), 400, "bad-archive")
    # no token, another user's name in a header, a token without the exchange scope
    assert requests.post(ex.base + url, data=tgz({"drill.ipynb": b"{}"}), timeout=30).status_code == 401
    r = requests.post(ex.base + url, data=tgz({"drill.ipynb": b"{}"}), timeout=30,
                      headers={"Authorization": f"token {tokens(a, scopes=('read:users:name!user',))}"})
    assert r.status_code == 403
    assert stored_state(hub) == before
    assert ex("GET", "submissions").json() == before_subs
    # the pupil can still submit properly, and the audit log has the attempts
    ok = ex("POST", url, data=tgz({"drill.ipynb": b'{"ok": 1}'}))
    assert ok.status_code == 201, ok.text
    inspector = tokens.exchange("d789012")
    events = inspector("GET", "audit", params={"course_id": c}).json()
    assert {"forged-parameter", "submit", "upload-too-large"} <= {e["action"] for e in events}
    assert any(e["action"] == "submit" and e["sha256"] == ok.json()["sha256"] and e["actor"] == a for e in events)
    assert inspector("GET", "audit", params={"course_id": course(classes(accounts)[0], PHYS)}).status_code == 404
    assert ex("GET", "audit", params={"course_id": c}).status_code == 404


def test_submission_is_immutable_and_private(school, drill):
    hub, accounts, tokens = school
    c, a, b = drill
    ex, other = tokens.exchange(a), tokens.exchange(b)
    first = ex("POST", f"courses/{c}/assignments/drill/submissions", data=tgz({"drill.ipynb": b'{"v": 1}'})).json()
    second = ex("POST", f"courses/{c}/assignments/drill/submissions", data=tgz({"drill.ipynb": b'{"v": 2}'})).json()
    assert first["sha256"] != second["sha256"] and second["received_at"] > first["received_at"]
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        assert ex(method, f"submissions/{first['submission_id']}", data=b"x").status_code == 405
    got = ex("GET", f"submissions/{first['submission_id']}").json()
    assert got["sha256"] == first["sha256"] and got["received_at"] == first["received_at"]
    with tarfile.open(fileobj=io.BytesIO(ex("GET", f"submissions/{first['submission_id']}/archive").content)) as t:
        assert t.extractfile("drill.ipynb").read() == b'{"v": 1}'
    # another pupil of the same class: guessed and real ids alike are 404
    for sid in (first["submission_id"], "AAAAAAAAAAAAAAAAAAAAAA", "../" + first["submission_id"]):
        assert other("GET", f"submissions/{sid}").status_code == 404
        assert other("GET", f"submissions/{sid}/archive").status_code == 404
    assert other("GET", "submissions", params={"course_id": c}).json() == [] or all(
        s["student"] == b for s in other("GET", "submissions", params={"course_id": c}).json())
    # every submission is kept; collect takes the latest on time
    t = tokens.exchange("be812345")
    chosen = {s["student"]: s for s in t("GET", f"courses/{c}/assignments/drill/collect").json()}
    assert chosen[a]["submission_id"] == second["submission_id"]
    assert len([s for s in ex("GET", "submissions", params={"course_id": c}).json()
                if s["assignment_id"] == "drill"]) >= 2


def test_deadlines_soft_hard_and_extensions(school):
    hub, accounts, tokens = school
    k1 = classes(accounts)[0]
    c = course(k1, MATHS)
    t = tokens.exchange("be812345")
    a, b = [p["username"] for p in accounts.of("pupil", k1)][:2]
    # due yesterday, hard deadline tomorrow: late, flagged, penalised per started day
    r = t("POST", f"courses/{c}/assignments/late/release", data=tgz({"late.ipynb": b"{}"}),
          params={"due": "2020-01-01T00:00:00+00:00", "hard_deadline": "2099-01-01 00:00", "penalty_per_day": "5"})
    assert r.status_code == 201
    sub = tokens.exchange(a)("POST", f"courses/{c}/assignments/late/submissions", data=tgz({"late.ipynb": b"{}"}))
    assert sub.status_code == 201 and sub.json()["late"] is True and sub.json()["penalty_percent"] == 100.0
    assert "late" in sub.json()["messages"]["en"]
    # hard deadline passed: refused, nothing stored; the teacher's extension reopens it for one pupil
    r = t("POST", f"courses/{c}/assignments/closed/release", data=tgz({"closed.ipynb": b"{}"}),
          params={"due": "2020-01-01 00:00", "hard_deadline": "2020-01-02 00:00"})
    assert r.status_code == 201
    before = stored_state(hub)
    refused(tokens.exchange(a)("POST", f"courses/{c}/assignments/closed/submissions",
                               data=tgz({"closed.ipynb": b'{"new": 1}'})), 403, "hard-deadline")
    assert stored_state(hub) == before
    ext = t("PUT", f"courses/{c}/assignments/closed/extensions/{b}", data=json.dumps({"due": "2099-01-01 00:00"}))
    assert ext.status_code == 200, ext.text
    listed = {x["assignment_id"]: x for x in tokens.exchange(b)("GET", "assignments").json()}
    assert listed["closed"]["due_at"].startswith("2098-12-31T23:00") or listed["closed"]["due_at"].startswith("2099")
    ok = tokens.exchange(b)("POST", f"courses/{c}/assignments/closed/submissions", data=tgz({"closed.ipynb": b"{}"}))
    assert ok.status_code == 201 and ok.json()["late"] is False
    refused(tokens.exchange(a)("POST", f"courses/{c}/assignments/closed/submissions",
                               data=tgz({"closed.ipynb": b"{}"})), 403, "hard-deadline")
    # a pupil cannot release nor extend
    assert tokens.exchange(a)("POST", f"courses/{c}/assignments/x/release", data=tgz({"x.ipynb": b"{}"})).status_code == 404
    assert tokens.exchange(a)("PUT", f"courses/{c}/assignments/closed/extensions/{a}",
                              data=json.dumps({"due": "2099-01-01"})).status_code == 404


def test_service_restarted_mid_cycle_loses_nothing(school, drill):
    hub, accounts, tokens = school
    c, a, _b = drill
    ex = tokens.exchange(a)
    mine = ex("POST", f"courses/{c}/assignments/drill/submissions", data=tgz({"drill.ipynb": b'{"r": 1}'})).json()
    t = tokens.exchange("be812345")
    before = t("GET", "submissions", params={"course_id": c}).json()
    pid = int((hub.state / "exchange" / "service.pid").read_text())
    os.kill(pid, signal.SIGKILL)

    def back():
        r = requests.get(ex.base + "health", timeout=2)
        return r.status_code == 200 and r.json()["pid"] != pid

    wait_for(back, 60, what="exchange service restarted by the hub")
    assert t("GET", "submissions", params={"course_id": c}).json() == before
    got = ex("GET", f"submissions/{mine['submission_id']}").json()
    assert got["sha256"] == mine["sha256"]
    from cartable.grading.exchange.protocol import manifest_digest

    with tarfile.open(fileobj=io.BytesIO(ex("GET", f"submissions/{mine['submission_id']}/archive").content)) as tar:
        import hashlib

        files = [{"path": m.name, "sha256": hashlib.sha256(tar.extractfile(m).read()).hexdigest(), "size": m.size}
                 for m in tar]
    assert manifest_digest(files) == mine["sha256"]
    assert ex("POST", f"courses/{c}/assignments/drill/submissions", data=tgz({"drill.ipynb": b"{}"})).status_code == 201


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_formgrader_can_be_framed_by_the_teachers_lab_only(school, cycle):
    hub, accounts, tokens = school
    teacher = cycle["browsers"][cycle["teachers"][MATHS]]
    r = teacher.s.get(f"{hub.url}/user/{teacher.username}/formgrader", timeout=60)
    assert r.status_code == 200
    csp = r.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'self'" in csp and "'none'" not in csp
    assert "X-Frame-Options" not in r.headers or r.headers["X-Frame-Options"].upper() == "SAMEORIGIN"
    pupil = cycle["browsers"][cycle["pupils"][cycle["klasses"][0]][0]]
    r = pupil.open_lab()
    assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", "")


# ------------------------------------------------------------------------------------ practice mode

@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_practice_submission_is_graded_at_once_with_feedback(school, cycle):
    """A practice release: the pupil's submission is graded in a sandbox by the exchange service
    within seconds, and the feedback (hidden tests removed) is theirs to fetch."""
    hub, accounts, _ = school
    klass = classes(accounts)[0]
    c = course(klass, MATHS)
    teacher = login(hub, accounts, "be812345")
    src = source_notebook("ps1")
    out = teacher_run(teacher, f"pathlib.Path('src').mkdir(exist_ok=True)\n"
                               f"pathlib.Path('src/entrainement.ipynb').write_text({src!r})\n"
                               f"cc('create-assignment', {c!r}, 'entrainement', 'src/entrainement.ipynb')\n"
                               f"out['release'] = cc('release', {c!r}, 'entrainement', '--due', '2099-06-01 18:00', "
                               f"'--practice')\n")
    assert "entraînement" in out["release"] or "Practice mode on" in out["release"], out
    pupil = cycle["pupils"][klass][0]
    code = f"""
import json, os, time, pathlib, nbformat, requests
from nbgrader.apps import NbGrader
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
def run(op):
    app = NbGrader(); app.load_config_file(); config = app.config
    config.CourseDirectory.course_id = {c!r}; config.CourseDirectory.assignment_id = "entrainement"
    ex = getattr(ExchangeFactory(config=config), op)(coursedir=CourseDirectory(config=config),
                                                      authenticator=Authenticator(config=config), config=config)
    return ex, ex.start()
run("FetchAssignment")
p = pathlib.Path({c!r}, "entrainement", "entrainement.ipynb")
book = nbformat.read(p, 4)
for cell in book.cells:
    if cell.metadata.get("nbgrader", {{}}).get("grade_id") == "double":
        cell.source = "def double(x):\\n    return x + x"
nbformat.write(book, p)
ex, _ = run("Submit")
sub = ex.receipt["submission_id"]
base = os.environ["CARTABLE_EXCHANGE_URL"] + "api/"
h = {{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}
t0 = time.time()
while time.time() - t0 < 120:
    res = requests.get(base + f"submissions/{{sub}}/practice", headers=h).json()
    if res.get("status") in ("graded", "failed"):
        break
    time.sleep(0.5)
res["waited"] = time.time() - t0
res["html"] = [requests.get(base + f"feedback/{{f['feedback_id']}}", headers=h).text for f in res.get("feedback", [])]
res["submission"] = sub
print(json.dumps(res))
"""
    res = kernel_json(login(hub, accounts, pupil), code, timeout=300)
    assert res["status"] == "graded", res
    assert res["score"] == 2 and res["max_score"] == 3, res  # the test passes; the written answer awaits the teacher
    (html,) = res["html"]
    assert "entraînement" in html and "2 / 3" in html
    assert HIDDEN_VALUE not in html and str(2 * int(HIDDEN_VALUE)) not in html and "HIDDEN TESTS" not in html
    # another pupil cannot read it
    other = cycle["pupils"][klass][1]
    peek = kernel_json(login(hub, accounts, other), f"""
import os, json, requests
base = os.environ["CARTABLE_EXCHANGE_URL"] + "api/"
h = {{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}
print(json.dumps({{"practice": requests.get(base + "submissions/{res['submission']}/practice", headers=h).status_code,
                   "feedback": [requests.get(base + "feedback/" + f["feedback_id"], headers=h).status_code
                                for f in {res['feedback']!r}],
                   "sandbox": requests.post(base + "sandbox", headers=h, json={{"course_id": {c!r}, "cells": [
                       {{"index": 0, "kind": "pupil", "source": "print(1)"}}]}}).status_code}}))
""")
    assert peek == {"practice": 404, "feedback": [404], "sandbox": 404}


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_teachers_batch_runs_in_the_services_sandbox(school, cycle):
    """A teacher's server is not root: its `cartable course autograde` executes in the exchange
    service's sandbox (own account, no network) and says so in each pupil's report."""
    hub, accounts, _ = school
    klass = classes(accounts)[0]
    c = course(klass, MATHS)
    teacher = login(hub, accounts, "be812345")
    out = teacher_run(teacher, f"out['lines'] = cc('autograde', {c!r}, 'ps1', '--json')\n")
    jobs = [json.loads(line) for line in out["lines"].splitlines() if line.startswith("{")]
    assert sorted(j["student"] for j in jobs) == sorted(cycle["pupils"][klass])
    for j in jobs:
        assert j["error"] is None and j["sandbox"]["isolated"] is True, j
        assert "network" in j["sandbox"]["applied"] and not j["sandbox"]["missing"]
    good, _, bad = cycle["pupils"][klass]
    scores = {j["student"]: j["score"] for j in jobs}
    assert scores[good] == 2 + 1 and scores[bad] == 0 + 1  # manual points given in the formgrader are kept


@WHOLE_CYCLE_ON_THE_DEFAULT_DATABASE
def test_a_teachers_sandbox_request_is_clamped_to_the_sites_maxima(school):
    """The exchange's sandbox never grants more than the site's grading.max_limits (defaults here):
    what a cell sees of its own limits is the maxima, and the answer says what was lowered."""
    from cartable.grading.sandbox import MAX_LIMITS

    hub, accounts, tokens = school
    c = course(classes(accounts)[0], MATHS)
    probe = ("import os, resource\nused = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
             "print('LIMITS', resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_CPU)[0],"
             " (resource.getrlimit(resource.RLIMIT_AS)[0] - used) // 2 ** 20)")
    r = tokens.exchange("be812345")("POST", "sandbox", json={
        "course_id": c, "cells": [{"index": 0, "kind": "pupil", "source": probe}],
        "limits": {"memory_mb": 100000, "processes": 10000, "cell_seconds": 10 ** 6, "cpu_seconds": 10 ** 6}})
    assert r.status_code == 200, r.text[:500]
    ex = r.json()
    assert ex["error"] is None and ex["completed"], ex
    (line,) = [ln for o in ex["cells"]["0"]["outputs"] for ln in o.get("text", "").splitlines() if ln.startswith("LIMITS")]
    _, nproc, cpu, memory_left = line.split()
    assert int(nproc) == MAX_LIMITS["processes"] and int(cpu) == MAX_LIMITS["cpu_seconds"], line
    assert int(memory_left) <= MAX_LIMITS["memory_mb"], line
    assert ex["sandbox"]["clamped"] == {"memory_mb": [100000, 2048], "processes": [10000, 64],
                                        "cell_seconds": [10 ** 6, 120], "cpu_seconds": [10 ** 6, 300]}
