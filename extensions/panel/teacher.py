"""What a teacher's panel shows and does: their courses, who fetched and submitted each
assignment (exchange status and audit), per-pupil extensions, release with deadlines, collect,
autograde with its progress, return feedback, the formgrader.

Set up, release, collect, feedback and the formgrader call :mod:`cartable.grading.operations`,
the library under ``cartable course …`` (the same code path as in a terminal), in this server
(the teacher's own account and Hub token); its refusals become the panel's. An extension is the
exchange's own per-pupil deadline API. Autograde runs ``cartable course autograde`` in the
background, in a process of its own, and its progress is read from the
``autograded/*/<assignment>/.cartable-grading.json`` files the grading engine writes, one per
graded submission.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys
import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from cartable.core.i18n import _
from cartable.extensions.panel.classroom import space
from cartable.extensions.panel.pupil import call, client
from cartable.extensions.panel.refusal import Refusal
from cartable.grading import operations as ops
from cartable.grading.operations import courses_root

GRADING_FILE = ".cartable-grading.json"


def course_counts(course: str, assignment: str) -> dict:
    d = courses_root() / course
    collected = sorted(p.parent.name for p in d.glob(f"submitted/*/{assignment}") if p.is_dir()) if d.is_dir() else []
    graded = sorted(p.parent.parent.name for p in d.glob(f"autograded/*/{assignment}/{GRADING_FILE}")) \
        if d.is_dir() else []
    return {"set_up": (d / "nbgrader_config.py").is_file(), "collected": collected, "graded": graded}


@dataclass
class Job:
    proc: subprocess.Popen
    started: float = field(default_factory=time.time)
    log_path: Path | None = None

    def state(self) -> dict:
        code = self.proc.poll()
        out = {"running": code is None, "returncode": code, "started": self.started}
        if code not in (None, 0) and self.log_path and self.log_path.exists():
            out["log"] = self.log_path.read_text(errors="replace")[-2000:]
        return out


class Jobs:
    """Autograde runs started from the panel, one per course and assignment at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], Job] = {}

    def get(self, course: str, assignment: str) -> Job | None:
        return self._jobs.get((course, assignment))

    def start(self, course: str, assignment: str) -> Job:
        with self._lock:
            job = self._jobs.get((course, assignment))
            if job and job.proc.poll() is None:
                raise Refusal.of(409, "running", _("Autograding of {assignment} is already running."),
                                 assignment=assignment)
            log_dir = courses_root() / course / ".cartable-panel"
            log_dir.mkdir(parents=True, exist_ok=True)
            log_path = log_dir / f"autograde-{assignment}.log"
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(cartable_cmd("autograde", course, assignment), stdout=log,
                                        stderr=subprocess.STDOUT, cwd=courses_root() / course, env=child_env())
            job = self._jobs[(course, assignment)] = Job(proc, log_path=log_path)
            return job


JOBS = Jobs()


def cartable_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "cartable", "course", *args]


def child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def operation(command: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, an operation of ``cartable course {command}``: its refusal, or any
    other failure (as the command would have ended), answered as the panel's refusal."""
    ops.venv_on_path()
    try:
        return fn(*args, **kwargs)
    except ops.OperationError as e:
        detail = e.message
    except Exception as e:  # shown to the teacher as the failed command, logged in full
        logging.getLogger("cartable.panel").exception("cartable course %s", command)
        detail = f"{type(e).__name__}: {e}"
    raise Refusal.of(500, "command-failed", _("The command `cartable course {command}` failed: {detail}"),
                     command=command, detail=detail[-600:])


def require_teacher(ex, course: str) -> dict:
    for c in call(ex.courses):
        if c["course_id"] == course and c["role"] == "teacher":
            return c
    raise Refusal.of(403, "not-your-course", _("You do not teach this course."))


def overview() -> dict:
    ex = client()
    who = call(ex.whoami)
    courses = [c for c in call(ex.courses) if c["role"] == "teacher"]
    assignments = call(ex.assignments) if courses else []
    out = []
    for c in courses:
        cid = c["course_id"]
        mine = [a for a in assignments if a["course_id"] == cid]
        fetched: dict[str, set[str]] = {}
        if mine:
            for e in call(ex.audit, course_id=cid, limit=10000):
                if e["action"] == "fetch" and e["outcome"] == "ok" and e["actor"] in c["pupils"]:
                    fetched.setdefault(e["assignment_id"], set()).add(e["actor"])
        returned: dict[str, set[str]] = {}
        if mine:
            for f in call(ex.feedback, course_id=cid):
                returned.setdefault(f["assignment_id"], set()).add(f["student"])
        items = []
        for a in mine:
            name = a["assignment_id"]
            status = call(ex.status, cid, name)
            job = JOBS.get(cid, name)
            items.append({
                "assignment_id": name, "due_at": a["due_at"], "hard_deadline": a["hard_deadline"],
                "timezone": a["timezone"], "penalty_per_day": a.get("penalty_per_day"),
                "pupils": [{"student": s["student"], "fetched": s["student"] in fetched.get(name, set()),
                            "submissions": s["submissions"], "last_received_at": s["last_received_at"],
                            "late": s["late"], "extension": s.get("extension")} for s in status],
                **course_counts(cid, name),
                "feedback_returned": sorted(returned.get(name, set())),
                "autograde": job.state() if job else None,
            })
        out.append({"course_id": cid, "class": c["class"], "subject": c["subject"], "pupils": c["pupils"],
                    "timezone": school_timezone(), "sources": sources(cid, {a["assignment_id"] for a in mine}),
                    "assignments": items, **space(ex, cid)})
    return {"role": "teacher", "user": who["name"], "courses": out}


def ensure_set_up(ex, course: str) -> None:
    if not (courses_root() / course / "nbgrader_config.py").is_file():
        operation(f"init {course}", ops.init_course, course, ops.default_gradebook())


def collect(course: str, assignment: str) -> dict:
    ex = client()
    require_teacher(ex, course)
    ensure_set_up(ex, course)
    operation(f"collect {course} {assignment}", ops.collect, course, assignment)
    return course_counts(course, assignment)


def autograde(course: str, assignment: str) -> dict:
    ex = client()
    require_teacher(ex, course)
    counts = course_counts(course, assignment)
    if not counts["collected"]:
        raise Refusal.of(409, "nothing-collected", _("Nothing to grade yet: collect the submissions first."))
    job = JOBS.start(course, assignment)
    return {**counts, "autograde": job.state()}


def formgrader(course: str) -> dict:
    ex = client()
    require_teacher(ex, course)
    ensure_set_up(ex, course)
    return {"url": operation(f"formgrader {course}", ops.show_in_formgrader, course)}


# --------------------------------------------------------------------------- release, extensions, feedback

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # what the handlers accept as an id
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


def school_timezone() -> str:
    return os.environ.get("CARTABLE_TIMEZONE") or "UTC"


def sources(course: str, released: set[str]) -> list[dict]:
    """The assignments of the course's ``source/`` folder (as ``cartable course release`` finds them)."""
    src = courses_root() / course / "source"
    if not src.is_dir():
        return []
    return [{"name": d.name, "released": d.name in released} for d in sorted(src.iterdir())
            if d.is_dir() and NAME.match(d.name) and any(d.glob("*.ipynb"))]


MISSING = {"due": _("Choose a date and a time for the due date."),
           "hard": _("Choose a date and a time for the hard deadline.")}
PAST = {"due": _("The due date ({value}) has already passed: choose a later date."),
        "hard": _("The hard deadline ({value}) has already passed: choose a later date.")}


def school_time(value: str | None, which: str, required: bool) -> dt.datetime | None:
    """A date and time typed in the panel (``2026-11-20T18:00``), in the school's time zone.
    Refused when malformed or already past: a deadline in the past is a typing mistake."""
    if not value:
        if required:
            raise Refusal.of(400, "bad-date", MISSING[which])
        return None
    try:
        if not DATE.match(value):
            raise ValueError(value)
        when = dt.datetime.fromisoformat(value).replace(tzinfo=zoneinfo.ZoneInfo(school_timezone()))
    except ValueError:
        raise Refusal.of(400, "bad-date", _("“{value}” is not a date and time such as 2026-11-20 18:00."),
                         value=value[:40]) from None
    if when <= dt.datetime.now(dt.UTC):
        raise Refusal.of(400, "date-past", PAST[which], value=value.replace("T", " ")[:16])
    return when


def deadlines(due: str, hard: str) -> tuple[str, str | None]:
    """Both deadlines checked; given on to the exchange as typed (school time, no offset)."""
    due_at = school_time(due, "due", True)
    hard_at = school_time(hard, "hard", False)
    if hard_at is not None and hard_at < due_at:
        raise Refusal.of(400, "hard-before-due", _("The hard deadline must not come before the due date."))
    return due.replace("T", " "), hard.replace("T", " ") if hard_at else None


def generate_if_needed(course: str, name: str) -> None:
    """``release/<name>`` made from ``source/<name>`` (nbgrader ``db assignment add`` and
    ``generate_assignment``, as ``cartable course create-assignment``) when missing or older."""
    operation(f"create-assignment {course} {name}", ops.generate_if_stale, course, name)


def release(course: str, name: str, due: str, hard: str, practice: str) -> dict:
    """``cartable course release <course> <name> --due … [--hard …] [--practice]`` from ``source/``."""
    ex = client()
    require_teacher(ex, course)
    due, hard_ = deadlines(due, hard)
    ensure_set_up(ex, course)
    released = {a["assignment_id"] for a in call(ex.assignments, course_id=course)}
    if name not in {s["name"] for s in sources(course, released)}:
        raise Refusal.of(404, "no-such-source", _("There is no assignment {assignment} in the course's source "
                                                  "folder."), assignment=name)
    generate_if_needed(course, name)
    args = ["release", course, name, "--due", due]
    if hard_:
        args += ["--hard", hard_]
    if name in released:
        args.append("--force")
    if practice == "true":
        args.append("--practice")
    operation(" ".join(args), release_and_practice, course, name, due, hard_, name in released, practice == "true")
    for a in call(ex.assignments, course_id=course):
        if a["assignment_id"] == name:
            return {"assignment_id": name, "due_at": a["due_at"], "hard_deadline": a["hard_deadline"],
                    "timezone": a["timezone"], "replaced": name in released}
    raise Refusal.of(502, "exchange", _("The exchange refused the operation: {detail}"), detail=name)


def release_and_practice(course: str, name: str, due: str, hard: str | None, force: bool, practice: bool) -> None:
    """What ``cartable course release <course> <name> --due … [--hard …] [--force] [--practice]`` does."""
    ops.release(course, name, due, hard, force=force)
    if practice:
        ops.practice_on(course, name)


def extend(course: str, name: str, student: str, due: str, hard: str) -> dict:
    """The pupil's own deadlines for one assignment (the exchange's per-pupil extension)."""
    ex = client()
    c = require_teacher(ex, course)
    if student not in c.get("pupils", []):
        raise Refusal.of(404, "not-your-pupil", _("{pupil} is not a pupil of this class."), pupil=student)
    due, hard_ = deadlines(due, hard)
    a = call(ex.extend, course, name, student, due, hard_)
    return {"student": student, "assignment_id": name, "due_at": a["due_at"], "hard_deadline": a["hard_deadline"],
            "timezone": a["timezone"]}


def return_feedback(course: str, name: str) -> dict:
    """``cartable course feedback <course> <name>``: generated (hidden tests hidden) and returned."""
    ex = client()
    require_teacher(ex, course)
    counts = course_counts(course, name)
    if not counts["graded"]:
        raise Refusal.of(409, "nothing-graded", _("Nothing to return yet: grade the submissions first."))
    job = JOBS.get(course, name)
    if job and job.proc.poll() is None:
        raise Refusal.of(409, "running", _("Autograding of {assignment} is already running."), assignment=name)
    operation(f"feedback {course} {name}", ops.feedback, course, name)
    returned = sorted({f["student"] for f in call(ex.feedback, course_id=course, assignment_id=name)})
    return {**counts, "feedback_returned": returned}
