"""Who sees what on the dashboards, without a hub: the viewer from the Hub's user model, the rows
each viewer's bundle gets, the kernel's environment and account, and binary kernel messages read
safely."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartable.grading import analytics as an
from cartable.grading.dashboards import access as dash_access
from cartable.grading.dashboards import data as dash_data
from cartable.grading.dashboards import service as svc
from cartable.grading.dashboards import views as dash_views

TEACH, LEARN = "custom:cartable:teach", "custom:cartable:learn"


def model(name, groups, scopes):
    return {"name": name, "kind": "user", "groups": groups, "scopes": scopes}


def test_viewer_from_groups_and_scopes():
    t = dash_access.viewer_from_model(model("t1", ["role:teacher", "school:LYC1", "course:lyc1-2026-a-maths",
                                            "class:LYC1:A"], [TEACH, "read:users:groups!user"]))
    assert (t.role, t.courses, t.schools, t.classes) == ("teacher", {"lyc1-2026-a-maths"}, set(), set())
    assert t.dashboards == ["class"]
    d = dash_access.viewer_from_model(model("d1", ["role:director", "school:LYC1"], ["custom:cartable:manage-school"]))
    assert (d.role, d.schools, d.dashboards) == ("director", {"LYC1"}, ["school"])
    i = dash_access.viewer_from_model(model("i1", ["role:inspector", "inspect:LYC1:maths", "inspect:LYC2:*"],
                                     ["custom:cartable:inspect"]))
    assert (i.role, i.inspections, i.dashboards) == ("inspector", {("LYC1", "maths"), ("LYC2", "*")}, ["inspection"])
    p = dash_access.viewer_from_model(model("p1", ["role:pupil", "class:LYC1:A", "course:x"], [LEARN]))
    assert (p.role, p.classes, p.courses, p.dashboards) == ("pupil", {("LYC1", "A")}, set(), ["progress"])
    # a group without the role's scope in the token (or the scope without the group) is no role
    assert dash_access.viewer_from_model(model("x", ["role:teacher", "course:c"], [LEARN])).role is None
    assert dash_access.viewer_from_model(model("x", ["course:c"], [TEACH])).dashboards == []
    assert dash_access.viewer_from_model(model("admin", [], []), admins={"admin"}).dashboards == ["class", "school",
                                                                                            "inspection"]


def tidy():
    meta = an.course_metadata({
        "a-maths": type("C", (), {"school": "LYC1", "year": "2026", "class_code": "A", "subject": "maths"})(),
        "b-phys": type("C", (), {"school": "LYC1", "year": "2026", "class_code": "B", "subject": "physique"})(),
        "z-maths": type("C", (), {"school": "LYC2", "year": "2026", "class_code": "Z", "subject": "maths"})(),
    })
    rows = [("a-maths", "p1"), ("a-maths", "p2"), ("b-phys", "p3"), ("z-maths", "p9")]
    n = len(rows)
    return an.tidy_table({"course": [r[0] for r in rows], "pupil": [r[1] for r in rows], "assignment": ["dm1"] * n,
                          "notebook": ["dm1"] * n, "question": ["q1"] * n, "score": np.ones(n), "max_score": np.full(n, 2.0),
                          "needs_manual_grade": np.zeros(n), "graded_by": ["autograder"] * n, "late_penalty": np.zeros(n),
                          "due": ["2026-10-01 18:00:00"] * n, "submitted_at": ["2026-10-01 09:00:00"] * n}, meta)


@pytest.mark.parametrize("viewer, dashboard, pupils", [
    (dash_access.Viewer("p1", "pupil"), "progress", {"p1"}),
    (dash_access.Viewer("p1", "pupil"), "class", set()),
    (dash_access.Viewer("t", "teacher", courses={"a-maths"}), "class", {"p1", "p2"}),
    (dash_access.Viewer("t", "teacher", courses={"a-maths"}), "school", set()),
    (dash_access.Viewer("t", "teacher"), "class", set()),
    (dash_access.Viewer("d", "director", schools={"LYC1"}), "school", {"p1", "p2", "p3"}),
    (dash_access.Viewer("d", "director", schools={"LYC1"}), "inspection", set()),
    (dash_access.Viewer("i", "inspector", inspections={("LYC1", "physique"), ("LYC2", "*")}), "inspection",
     {"p3", "p9"}),
    (dash_access.Viewer("a", "admin"), "school", {"p1", "p2", "p3", "p9"}),
])
def test_visible_rows(viewer, dashboard, pupils):
    rows = dash_access.visible_rows(tidy(), viewer, dashboard)
    assert set(rows["pupil"].astype(str)) == pupils
    # no other pupil's name survives in the categories a widget could list
    assert set(rows["pupil"].cat.categories) == pupils


class Store:
    """A GradeStore's data without gradebooks: ``tidy()``'s rows, no comments, a small roster."""

    def data(self):
        roster = pd.DataFrame([("LYC1", "2026", "A", "maths", "a-maths", "p1", "Ali <b>", ""),
                               ("LYC2", "2026", "Z", "maths", "z-maths", "p9", "Zed", "")],
                              columns=dash_data.ROSTER_COLUMNS).astype("category")
        return tidy(), pd.DataFrame({c: pd.Categorical([]) for c in an.COMMENT_COLUMNS}), roster


def test_bundle_rows_round_trip(tmp_path):
    folder = dash_data.write_bundle(tmp_path / "views", dash_access.Viewer("t", "teacher", courses={"a-maths"}),
                                    "class", Store(), "ar-MA", "Lycée")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    page = dash_views.Page(folder)
    assert (page.lang, page.dir, page.meta["dashboard"]) == ("ar", "rtl", "class")
    assert set(page.table("rows")["pupil"]) == {"p1", "p2"}
    assert list(page.table("roster")["name"]) == ["Ali <b>"]
    # rendered escaped
    assert "Ali &lt;b&gt;" in dash_views.html_table(page.table("roster"), {"name": "n"}, "-")


def test_kernel_environment_keeps_no_secret():
    env = svc.kernel_env({"PATH": "/bin", "JUPYTERHUB_API_TOKEN": "secret", "JPY_API_TOKEN": "secret",
                          "CARTABLE_CONFIG": "/etc/c.yaml", "QUERY_STRING": "user=x", "HTTP_X_USER": "x",
                          "VOILA_BASE_URL": "/s/", "VOILA_REQUEST_URL": "http://h/s/class?user=x"}, "/views/abc")
    assert env["PATH"] == "/bin" and env[dash_data.VIEW_ENV] == "/views/abc" and env["VOILA_BASE_URL"] == "/s/"
    for key in ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "CARTABLE_CONFIG", "QUERY_STRING", "HTTP_X_USER",
                "VOILA_REQUEST_URL"):
        assert key not in env


# what a dashboard kernel finds out about itself and tries to read (paths filled in by the test)
KERNEL_PROBE = """
import json, os, resource
from cartable.grading.dashboards import views as dash_views

def attempt(f):
    try:
        f()
        return "read"
    except PermissionError:
        return "denied"

page = dash_views.Page()
print(json.dumps({
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],
    "viewer": page.meta["username"], "pupils": sorted(set(page.table("rows")["pupil"].astype(str))),
    "env": {k: os.environ.get(k) for k in ("JUPYTERHUB_API_TOKEN", "CARTABLE_CONFIG", "HOME")},
    "views": attempt(lambda: os.listdir(@VIEWS@)), "state": attempt(lambda: os.listdir(@STATE@)),
    "secret": attempt(lambda: open(@SECRET@).read()), "config": attempt(lambda: open(@CONFIG@).read()),
    "address_space": resource.getrlimit(resource.RLIMIT_AS)[0],
    "no_new_privs": open("/proc/self/status").read().split("NoNewPrivs:")[1].split()[0],
}))
"""


def test_dashboard_kernel_runs_as_the_dashboards_account(tmp_path, monkeypatch):
    """As root: the service's folders and a page's bundle set up as the service does, a real kernel
    started through the ``cartable-dashboard`` kernelspec (the launcher) with the environment the
    service gives it runs as ``cartable-dashboard``, with no group, no token, the limits, reads its
    own bundle and nothing of the service's; the lessons' account cannot read the bundle."""
    if os.geteuid() != 0:
        pytest.skip("needs root to change account")
    from support.harness import outside_dir, run_in_kernel

    from cartable.core import kernel_account as ka
    from cartable.hub.layers import DASHBOARDS_KERNEL_ACCOUNT, LESSONS_KERNEL_ACCOUNT, _ensure_system_account

    account = _ensure_system_account(DASHBOARDS_KERNEL_ACCOUNT, "Cartable dashboards' kernels")
    lessons = _ensure_system_account(LESSONS_KERNEL_ACCOUNT)
    entry = pwd.getpwnam(account)
    for key in (ka.USER_ENV, ka.RUNTIME_ENV):
        monkeypatch.setenv(key, "")  # prepare_state sets them; removed after the test
    monkeypatch.setenv("JUPYTER_PATH", str(svc.SHARE))  # as the service does
    state = outside_dir("dashboards-kernel")  # 0711, like a site's state directory
    (state / "secrets").mkdir(mode=0o700)
    secret = state / "secrets" / "cookie_secret"
    secret.write_text("secret-of-the-site")
    config = state / "cartable.yaml"
    config.write_text("secret: of the site")
    config.chmod(0o600)

    views = svc.prepare_state(state / "dashboards", account)
    assert os.environ[ka.USER_ENV] == account
    runtime = Path(os.environ[ka.RUNTIME_ENV])
    assert (runtime.stat().st_uid, runtime.stat().st_mode & 0o777) == (entry.pw_uid, 0o700)
    assert (views.stat().st_uid, views.stat().st_mode & 0o777) == (0, 0o711)
    own = dash_data.write_bundle(views, dash_access.Viewer("t", "teacher", courses={"a-maths"}), "class", Store(),
                                 "fr", owner=account)
    other = dash_data.write_bundle(views, dash_access.Viewer("d", "director", schools={"LYC1"}), "school", Store(),
                                   "fr", owner=account)
    for folder in (own, other):
        assert (folder.stat().st_uid, folder.stat().st_mode & 0o777) == (entry.pw_uid, 0o700)
        assert {p.stat().st_uid for p in folder.iterdir()} == {entry.pw_uid}

    # the lessons' kernels (teachers' code) cannot read a dashboard's rows
    denied = subprocess.run([sys.executable, "-c", f"open({str(own / 'rows.npz')!r}, 'rb').read()"],
                            user=lessons, group=pwd.getpwnam(lessons).pw_gid, extra_groups=[],
                            capture_output=True, text=True, timeout=60)
    assert denied.returncode != 0 and "PermissionError" in denied.stderr, denied.stderr

    private = tmp_path / "service-runtime"  # where the service writes connection files (root's, 0700)
    private.mkdir(mode=0o700)
    env = svc.kernel_env({**os.environ, "JUPYTERHUB_API_TOKEN": "secret-of-the-service",
                          "CARTABLE_CONFIG": str(config)}, str(own))
    code = KERNEL_PROBE
    for name, path in (("VIEWS", views), ("STATE", views.parent), ("SECRET", secret), ("CONFIG", config)):
        code = code.replace(f"@{name}@", repr(str(path)))
    printed, uid = run_in_kernel(svc.KERNEL_NAME, code, env, private)
    seen = json.loads(printed)
    assert uid == entry.pw_uid
    assert seen["ids"] == [entry.pw_uid, entry.pw_uid, entry.pw_gid, []]
    assert seen["viewer"] == "t" and seen["pupils"] == ["p1", "p2"]  # its own bundle
    assert seen["env"] == {"JUPYTERHUB_API_TOKEN": None, "CARTABLE_CONFIG": None, "HOME": str(runtime)}
    # another page's bundle cannot be found (views/ is not listed), nor the service's state read
    assert (seen["views"], seen["state"], seen["secret"], seen["config"]) == ("denied",) * 4
    assert seen["address_space"] == ka.LIMITS[resource.RLIMIT_AS] and seen["no_new_privs"] == "1"
    dash_data.remove_bundle(own)
    assert not own.exists() and other.exists()


def test_dashboard_kernels_start_only_through_the_launcher(monkeypatch):
    """Another kernelspec than the launcher's is refused; as root, so is a kernel without an account."""
    from concurrent.futures import ThreadPoolExecutor

    from tornado.web import HTTPError

    from cartable.core import kernel_account as ka

    if os.geteuid() == 0:
        monkeypatch.delenv(ka.USER_ENV, raising=False)

    async def start(kernel_name):
        km = svc.DashboardKernelManager()
        token = svc.CURRENT_VIEW.set(("t", "/nonexistent"))
        try:
            with pytest.raises(HTTPError) as refused:
                await km.start_kernel(kernel_name=kernel_name, env={})
            return refused.value.status_code, km.list_kernel_ids()
        finally:
            svc.CURRENT_VIEW.reset(token)

    # a loop of its own, in a thread: Playwright's sync API keeps one running in the main thread
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, start("python3")).result() == (403, [])
        if os.geteuid() == 0:
            assert pool.submit(asyncio.run, start(svc.KERNEL_NAME)).result() == (500, [])


def test_binary_headers_of_both_protocols():
    from jupyter_server.services.kernels.connection.base import serialize_binary_message

    header = {"msg_type": "comm_msg", "msg_id": "1"}
    msg = {"header": header, "parent_header": {}, "metadata": {}, "content": {}, "buffers": [b"\x89PNG" + bytes(100)],
           "channel": "iopub"}
    legacy = serialize_binary_message(msg)
    assert svc.binary_header(legacy, v1=False)["msg_type"] == "comm_msg"
    # Voilà 0.5.13 reads this as v1: its offset count would be in the billions
    assert int.from_bytes(legacy[:8], "little") > 10**9
    assert svc.binary_header(legacy, v1=True) is None
    parts = [b"iopub", json.dumps(header).encode(), b"{}", b"{}", b"{}", b"\x89PNG"]
    offsets, pos = [], 8 * (len(parts) + 1)
    for p in parts:
        offsets.append(pos)
        pos += len(p)
    v1 = struct.pack("<" + "Q" * (len(parts) + 1), len(parts), *offsets) + b"".join(parts)
    assert svc.binary_header(v1, v1=True)["msg_type"] == "comm_msg"
    assert svc.binary_header(b"\xff" * 16, v1=False) is None


def gradebook(path, course, pupils, foreign_course=None, assignment="dm1"):
    """An nbgrader gradebook (a SQLite file's path, or a URL) with one assignment graded and
    commented; optionally a second course's rows in the same gradebook (as a teacher could forge)."""
    import warnings

    from nbgrader.api import Gradebook

    from cartable.grading.courses import venv_on_path

    venv_on_path()
    warnings.filterwarnings("ignore", message=".*not in session.*")
    url = str(path) if "://" in str(path) else f"sqlite:///{path}"
    for cid, name in ((course, assignment), *(((foreign_course, f"forged-{assignment}"),) if foreign_course else ())):
        with Gradebook(url, cid) as gb:
            gb.add_assignment(name, duedate="2026-10-01 18:00:00")
            gb.add_notebook(name, name)
            gb.add_grade_cell("q1", name, name, max_score=2, cell_type="code")
            gb.add_solution_cell("answer", name, name)
            for p in pupils:
                gb.update_or_create_student(p)
                gb.add_submission(name, p)
                gb.find_grade("q1", name, name, p).auto_score = 1
                gb.find_comment("answer", name, name, p).manual_comment = f"<b>{p}</b>"
                gb.db.commit()


def roster_db(tmp_path, classes=("A", "B")):
    """Cartable's database with, per class K of LYC1, teacher ``tK`` of maths and pupil ``pK``
    (course ``lyc1-2026-K-maths``)."""
    from cartable.core.db import Database, Enrollment, Person, SchoolClass, Teaching

    db = Database(f"sqlite:///{tmp_path / 'cartable.db'}")
    with db.session() as s:
        rows = [SchoolClass(school="LYC1", year="2026-2027", code=k) for k in classes]
        s.add_all(rows)
        s.flush()
        s.add_all([Person(username=f"{r[0]}{k.lower()}", national_id=f"{r[0]}{k.lower()}", role=r, school="LYC1",
                          first_name=k, last_name="X") for k in classes for r in ("teacher", "pupil")])
        s.flush()
        for k, row in zip(classes, rows):
            s.add_all([Teaching(username=f"t{k.lower()}", class_id=row.id, subject="maths"),
                       Enrollment(username=f"p{k.lower()}", class_id=row.id)])
    return db


def test_grade_store_reads_each_course_from_its_teachers_folder_only(tmp_path):
    import os

    db = roster_db(tmp_path)
    a, b = "lyc1-2026-a-maths", "lyc1-2026-b-maths"
    homes = tmp_path / "homes"
    for teacher, course in (("ta", a), ("tb", b)):
        (homes / teacher / "cartable" / course).mkdir(parents=True)
    # ta's file also holds forged grades for tb's course: they are not read
    gradebook(homes / "ta" / "cartable" / a / "gradebook.db", a, ["pa"], foreign_course=b)
    store = dash_data.GradeStore(db, homes, ttl=0)
    table, comments, roster = store.data()
    assert set(zip(table["course"].astype(str), table["assignment"].astype(str))) == {(a, "dm1")}
    assert list(comments["comment"].astype(str)) == ["<b>pa</b>"]
    assert set(zip(roster["course"].astype(str), roster["pupil"].astype(str))) == {(a, "pa"), (b, "pb")}
    # a gradebook reached through a symbolic link is not read
    os.symlink(homes / "ta" / "cartable" / a / "gradebook.db", homes / "tb" / "cartable" / b / "gradebook.db")
    assert store.gradebook_of(store.registry.course(b)) is None
    # tb's own gradebook is read, and only then
    (homes / "tb" / "cartable" / b / "gradebook.db").unlink()
    gradebook(homes / "tb" / "cartable" / b / "gradebook.db", b, ["pb"])
    table = store.data()[0]
    assert set(zip(table["course"].astype(str), table["pupil"].astype(str))) == {(a, "pa"), (b, "pb")}
    db.engine.dispose()


@pytest.mark.postgres
def test_grade_store_reads_sqlite_and_postgresql_gradebooks(tmp_path, postgres, caplog):
    """Course A on SQLite (the default), courses B and C sharing one PostgreSQL database (URL with a
    password), as `cartable course init [--gradebook]` leaves them; each teacher sees only theirs."""
    import logging

    from sqlalchemy.engine import make_url

    from cartable.grading.courses import write_course_config

    caplog.set_level(logging.INFO)
    db = roster_db(tmp_path, ("A", "B", "C"))
    a, b, c = "lyc1-2026-a-maths", "lyc1-2026-b-maths", "lyc1-2026-c-maths"
    pg = postgres.new_database()  # the test server's URLs carry its password
    secret = make_url(pg).password
    assert secret
    homes = tmp_path / "homes"
    folders = {course: homes / f"t{k}" / "cartable" / course for k, course in (("a", a), ("b", b), ("c", c))}
    write_course_config(folders[a], a)
    gradebook(folders[a] / "gradebook.db", a, ["pa"])
    write_course_config(folders[b], b, pg)
    write_course_config(folders[c], c, pg)
    # B's teacher also puts rows of course A in the shared database: they are not read for A
    gradebook(pg, b, ["pb"], foreign_course=a)
    gradebook(pg, c, ["pc"], assignment="ds1")
    assert not (folders[b] / "gradebook.db").exists()

    store = dash_data.GradeStore(db, homes, ttl=0, max_age=3600)
    assert store.gradebook_of(store.registry.course(b)) == pg
    table, comments, _roster = store.data()
    rows = set(zip(table["course"].astype(str), table["pupil"].astype(str), table["assignment"].astype(str),
                   table["score"], table["max_score"]))
    assert rows == {(a, "pa", "dm1", 1.0, 2.0), (b, "pb", "dm1", 1.0, 2.0), (c, "pc", "ds1", 1.0, 2.0)}
    assert set(zip(comments["course"].astype(str), comments["comment"].astype(str))) == {
        (a, "<b>pa</b>"), (b, "<b>pb</b>"), (c, "<b>pc</b>")}
    assert list(store._engines) == [pg]  # one engine for the database B and C share
    for teacher, course, pupil in (("ta", a, "pa"), ("tb", b, "pb")):
        mine = dash_access.visible_rows(table, dash_access.Viewer(teacher, "teacher", courses={course}), "class")
        assert set(mine["course"].astype(str)) == {course}
        assert set(mine["pupil"].cat.categories) == {pupil}

    # a grade changed in PostgreSQL shows after max_age, through the same engine
    from nbgrader.api import Gradebook

    with Gradebook(pg, b) as gb:
        gb.find_grade("q1", "dm1", "dm1", "pb").auto_score = 2
        gb.db.commit()
    engine = store._engines[pg]
    assert set(store.data()[0]["score"]) == {1.0}  # read again at most once per max_age
    store.max_age = 0.001
    table = store.data()[0]
    assert dict(zip(table["pupil"].astype(str), table["score"])) == {"pa": 1.0, "pb": 2.0, "pc": 1.0}
    assert store._engines[pg] is engine

    # B's database unreachable: its last reading is kept, and logged without the password
    unreachable = make_url(pg).set(port=1).render_as_string(hide_password=False)
    write_course_config(folders[b], b, unreachable)
    store.max_age = 3600
    for _again in range(2):  # tried once per max_age, not at every page
        table = store.data()[0]
        assert set(zip(table["course"].astype(str), table["pupil"].astype(str))) == {(a, "pa"), (b, "pb"), (c, "pc")}
    assert caplog.text.count(f"of {b} unreadable, last reading kept") == 1 and ":***@127.0.0.1:1/" in caplog.text
    assert secret not in caplog.text
    db.engine.dispose()
    for engine in store._engines.values():
        engine.dispose()


def test_layer_registers_the_service_with_oauth_and_a_role(tmp_path):
    from traitlets.config import Config

    from cartable.core import config
    from cartable.hub import layers

    cfg = config.from_dict({"school": {"name": "Lycée Test", "code": "TST"},
                            "hub": {"state_dir": str(tmp_path / "state"), "port": 9000}}, tmp_path)
    c = Config()
    c.JupyterHub.services = [{"name": "other"}]
    layers.dashboards(c, cfg)
    other, service = c.JupyterHub.services
    assert other == {"name": "other"}  # the layers before are kept
    assert service["name"] == "cartable-dashboards" and service["url"] == "http://127.0.0.1:9005"
    assert service["command"][1:3] == ["-m", "cartable.grading.dashboards.service"]
    # as root, the kernels drop to the dashboards' own account (not the lessons' one)
    assert service["command"][3:] == (["--kernel-user", "cartable-dashboard"] if os.geteuid() == 0 else [])
    assert service["oauth_no_confirm"] is True
    assert set(service["oauth_client_allowed_scopes"]) == {
        "read:users:groups!user", "custom:cartable:learn", "custom:cartable:teach", "custom:cartable:manage-school",
        "custom:cartable:inspect"}
    assert "api_token" not in service  # the service needs no rights of its own on the Hub's API
    (role,) = c.JupyterHub.load_roles
    assert role["scopes"] == ["access:services!service=cartable-dashboards"]
    assert set(role["groups"]) == {"role:pupil", "role:teacher", "role:director", "role:inspector"}
    assert layers.dashboards in layers.LAYERS
