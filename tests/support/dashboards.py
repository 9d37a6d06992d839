"""A real hub for the dashboards tests: the demo school (one pupil's names and one grader's comment
carry script payloads), a second school added to the roster tables, and real nbgrader gradebooks
in the teachers' course folders, as ``cartable course init`` leaves them."""

from __future__ import annotations

import csv
import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from support.harness import DEMO_ROSTER, Hub, free_port_block, wait_for

SERVICE = "/services/cartable-dashboards/"
XSS_NAME = "<img src=x onerror=alert('name')>"
XSS_NAME_AR = "<script>alert('nom')</script>"
XSS_COMMENT = "<script>alert('comment')</script><img src=y onerror=alert('c2')>"
# usernames of the demo roster
PUPIL, XSS_PUPIL, OTHER_CLASS_PUPIL = "j130012345", "j130012346", "j130022301"
MATHS_TEACHER, PHYS_TEACHER, DIRECTOR, INSPECTOR = "be812345", "ee456789", "a345678", "d789012"
SECOND_SCHOOL = "LYC2"
SECOND_PUPILS = {"lyc2p1": ("Zoubida", "Quennec"), "lyc2p2": ("Yanis", "Quartier")}
COURSES = {
    "demo-2026-2bsm1-maths": MATHS_TEACHER, "demo-2026-2bpc1-maths": MATHS_TEACHER,
    "demo-2026-2bsm1-physique-chimie": PHYS_TEACHER,
    "lyc2-2026-2bsm1-maths": "lyc2t", "lyc2-2026-2bsm1-physique-chimie": "lyc2t",
}


class DashboardsHub(Hub):
    """The harness's hub with a block of ports wide enough for the dashboards service (public + 5)."""

    def __init__(self, root, **kw):
        super().__init__(root, **kw)
        import yaml

        self.port = free_port_block(7)
        self.url = f"http://127.0.0.1:{self.port}"
        data = yaml.safe_load(self.config_path.read_text())
        data["hub"]["port"] = self.port
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))


def xss_roster(tmp: Path) -> Path:
    with open(DEMO_ROSTER, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["identifiant"].lower() == XSS_PUPIL:
            r["prenom"] = XSS_NAME
            r["nom"] = XSS_NAME_AR
    out = tmp / "roster.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


def add_second_school(hub) -> None:
    """LYC2: one class 2BSM1, two pupils, a teacher of maths and physics; the demo inspector also
    inspects LYC2's physics (not its maths)."""
    from cartable.core.db import Enrollment, Inspection, Person, SchoolClass, Teaching

    db = hub.db()
    with db.session() as s:
        k = SchoolClass(school=SECOND_SCHOOL, year="2026-2027", code="2BSM1")
        s.add(k)
        s.flush()
        people = [Person(username=u, national_id=u.upper(), role="pupil", school=SECOND_SCHOOL, first_name=fn,
                         last_name=ln) for u, (fn, ln) in SECOND_PUPILS.items()]
        people.append(Person(username="lyc2t", national_id="LYC2T", role="teacher", school=SECOND_SCHOOL,
                             first_name="Tariq", last_name="Autre"))
        s.add_all(people)
        s.flush()
        s.add_all([Enrollment(username=u, class_id=k.id) for u in SECOND_PUPILS])
        s.add_all([Teaching(username="lyc2t", class_id=k.id, subject=subj) for subj in ("maths", "physique-chimie")])
        s.add(Inspection(username=INSPECTOR, school=SECOND_SCHOOL, year="2026-2027", subject="physique-chimie"))
    db.dispose()


# (assignment, due, cells: [(name, max)]) — the same two assignments in every course
ASSIGNMENTS = [("dm1", "2026-10-01 18:00:00", [("q1", 2), ("q2", 3)]),
               ("dm2", "2026-11-01 18:00:00", [("q1", 4), ("q2", 1)])]


def scores_for(course: str, pupil: str, index: int) -> dict[str, dict[str, float]]:
    """Deterministic scores: q2 of dm1 is failed by everyone (the "questions failed" list); LYC2 does
    well; the XSS pupil falls."""
    if course.startswith("lyc2"):
        return {"dm1": {"q1": 2, "q2": 3}, "dm2": {"q1": 4, "q2": 1}}
    if pupil == XSS_PUPIL:
        return {"dm1": {"q1": 2, "q2": 1}, "dm2": {"q1": 0, "q2": 0}}
    return {"dm1": {"q1": (index % 3), "q2": 0.5}, "dm2": {"q1": 1 + index % 4, "q2": index % 2}}


def write_gradebooks(hub, pupils_of: dict[str, list[str]], skip: set[tuple[str, str]]) -> None:
    """One SQLite gradebook per course in its teacher's course folder, filled through nbgrader's API."""
    import warnings

    from nbgrader.api import Gradebook

    from cartable.grading.courses import venv_on_path

    venv_on_path()
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's own API, as it is
    homes = hub.cfg.homes_dir
    for course, teacher in COURSES.items():
        folder = homes / teacher / "cartable" / course
        folder.mkdir(parents=True, exist_ok=True)
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course) as gb:
            for pupil in pupils_of[course]:
                gb.update_or_create_student(pupil)
            for name, due, cells in ASSIGNMENTS:
                gb.add_assignment(name, duedate=due)
                gb.add_notebook(name, name)
                for cell, top in cells:
                    gb.add_grade_cell(cell, name, name, max_score=top, cell_type="code")
                gb.add_solution_cell("answer", name, name)
            for i, pupil in enumerate(pupils_of[course]):
                for name, due, _cells in ASSIGNMENTS:
                    if (course, pupil) in skip and name == "dm2":
                        continue
                    gb.add_submission(name, pupil, timestamp=due.replace("18:00", "09:00"))
                    for cell, score in scores_for(course, pupil, i)[name].items():
                        g = gb.find_grade(cell, name, name, pupil)
                        g.auto_score = score
                    c = gb.find_comment("answer", name, name, pupil)
                    c.manual_comment = XSS_COMMENT if pupil == XSS_PUPIL else f"Bien, {pupil}"
                    gb.db.commit()


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """(hub, accounts): the hub started, both schools' gradebooks written."""
    root = tmp_path_factory.mktemp("dashboards")
    hub = DashboardsHub(root, settings={"spawner": {"unix_prefix": f"d{os.getpid() % 100:02d}-"}})
    accounts = hub.import_roster(xss_roster(root))
    add_second_school(hub)
    from cartable.grading.courses import CourseRegistry

    courses = CourseRegistry(hub.db()).courses()
    assert set(COURSES) <= set(courses), sorted(courses)
    pupils_of = {c: list(courses[c].pupils) for c in COURSES}
    # one pupil of 2BSM1 never submitted dm2 of maths
    write_gradebooks(hub, pupils_of, skip={("demo-2026-2bsm1-maths", "j130012347")})
    hub.start()
    hub.wait_synced(INSPECTOR, f"inspect:{SECOND_SCHOOL}:physique-chimie")
    yield hub, accounts
    hub.stop()


class Viewer:
    """A browser-like client of the dashboards: Hub login, then the service's OAuth, then pages and
    the page's kernel over the websocket, as Voilà's front end uses it."""

    def __init__(self, hub, accounts, username):
        self.hub = hub
        self.br = hub.client()
        self.username = username
        r = self.br.login(username, accounts.password(username))
        assert r.status_code == 302, (username, r.status_code, r.text[:300])

    def get(self, path: str, **kw) -> requests.Response:
        return self.br.s.get(f"{self.hub.url}{SERVICE}{path}", timeout=180, **kw)

    def kernel_id(self, page: requests.Response) -> str:
        m = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.text)
        assert m, page.text[:2000]
        return m.group(1)

    def ws(self, kernel_id: str):
        from websockets.sync.client import connect

        cookie = "; ".join(f"{c.name}={c.value}" for c in self.br.s.cookies)
        url = self.hub.url.replace("http", "ws", 1) + f"{SERVICE}api/kernels/{kernel_id}/channels"
        return connect(url, additional_headers={"Cookie": cookie}, open_timeout=30, max_size=None)

    def widget_states(self, kernel_id: str, timeout: float = 60, updates: dict | None = None) -> dict:
        """Every widget model's state, asked of the kernel the way Voilà's front end does it (a comm
        to ``jupyter.widget.control``, method ``request_states``), over the legacy websocket
        protocol (binary messages framed with 4-byte offsets). ``updates`` ({model id: state})
        first moves widgets as a browser would (``comm_msg``, method ``update``)."""
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message

        def read(ws):
            raw = ws.recv(timeout=timeout)
            return deserialize_binary_message(raw) if isinstance(raw, bytes) else json.loads(raw)

        with self.ws(kernel_id) as ws:
            for model_id, state in (updates or {}).items():
                sent = message("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": state,
                                                                          "buffer_paths": []}})
                ws.send(json.dumps(sent))
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:  # until the kernel went idle after handling it
                    msg = read(ws)
                    if (msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
                            and msg.get("parent_header", {}).get("msg_id") == sent["header"]["msg_id"]):
                        break
            comm_id = uuid.uuid4().hex
            ws.send(json.dumps(message("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control",
                                                     "data": {}}, {"version": "1.0.0"})))
            ws.send(json.dumps(message("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}})))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = read(ws)
                data = msg.get("content", {}).get("data", {})
                if msg["msg_type"] == "comm_msg" and data.get("method") == "update_states":
                    return data["states"]
        raise TimeoutError("no widget states")

    def dropdowns(self, states: dict) -> list[tuple[str, dict]]:
        """(model id, state) of each dropdown, in the order the page shows them."""
        return [(mid, s["state"]) for mid, s in states.items() if s["model_name"] == "DropdownModel"]

    def page(self, path: str) -> tuple[requests.Response, str, dict]:
        """The page, its kernel id and its widgets' states."""
        page = self.get(path)
        assert page.status_code == 200, (self.username, path, page.status_code, page.text[:500])
        kernel = self.kernel_id(page)
        return page, kernel, self.widget_states(kernel)


def texts(states: dict) -> str:
    """All the text the widgets hold: HTML values, dropdown labels, descriptions."""
    out = []
    for s in states.values():
        st = s["state"]
        out += [str(st.get("value", "")) if s["model_name"] == "HTMLModel" else "",
                " | ".join(st.get("_options_labels", []) or []), str(st.get("description", ""))]
    return "\n".join(o for o in out if o)


def message(msg_type: str, content: dict, metadata: dict | None = None) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "username": "", "session": uuid.uuid4().hex,
                       "msg_type": msg_type, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": metadata or {}, "channel": "shell", "buffers": [], "content": content}


@pytest.fixture(scope="module")
def viewers(school):
    hub, accounts = school
    cache = {}

    def get(username) -> Viewer:
        if username not in cache:
            cache[username] = Viewer(hub, accounts, username)
        return cache[username]

    return get


def wait_until(predicate, timeout=30, what="condition"):
    return wait_for(predicate, timeout, what=what)
