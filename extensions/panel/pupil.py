"""What a pupil's panel shows and does: their courses, assignments, receipts and feedback;
fetch, submit and fetch feedback through nbgrader's ExchangeFactory, as the server's owner.

Everything here blocks (HTTP to the exchange, files): the handlers run it in a thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nbgrader.exchange.abc.exchange import ExchangeError

from cartable.core.i18n import _
from cartable.extensions.panel.refusal import Refusal, from_exchange
from cartable.grading.exchange.client import ExchangeClient, ExchangeRefusal

log = logging.getLogger("cartable.panel")


def client() -> ExchangeClient:
    """The exchange client with this server's Hub token and the service's URL (from the spawner)."""
    ex = ExchangeClient.from_environment()
    if not ex.configured:
        raise Refusal.of(503, "no-exchange", _("The assignment exchange is not available on this server."))
    return ex


def call(operation, *args, **kw):
    """One operation of the exchange client (``call(ex.courses)``); its refusal as the panel's."""
    try:
        return operation(*args, **kw)
    except ExchangeRefusal as e:
        raise exchange_refusal(e) from None


def exchange_refusal(e: Exception) -> Refusal:
    msgs = from_exchange(str(e))
    if msgs:
        return Refusal(400, "exchange", msgs)
    log.warning("exchange error: %s", e)
    return Refusal.of(502, "exchange", _("The exchange refused the operation: {detail}"), detail=str(e)[:300])


def whoami(ex=None) -> dict:
    return call((ex or client()).whoami)


def overview(root: Path) -> dict:
    """Courses learnt, each with its released assignments, local copy, submissions and feedback."""
    ex = client()
    who = call(ex.whoami)
    courses = [c for c in call(ex.courses) if c["role"] == "pupil"]
    assignments = call(ex.assignments) if courses else []
    subs = call(ex.submissions) if courses else []
    feedback = call(ex.feedback) if courses else []
    out = []
    for c in courses:
        items = []
        for a in assignments:
            if a["course_id"] != c["course_id"]:
                continue
            key = (a["course_id"], a["assignment_id"])
            mine = [s for s in subs if (s["course_id"], s["assignment_id"]) == key]
            fbs = [f for f in feedback if (f["course_id"], f["assignment_id"]) == key]
            local = root / a["course_id"] / a["assignment_id"]
            practice = None
            if mine:  # the grading on submit of the latest submission, when the teacher switched it on
                latest = max(mine, key=lambda s: s["received_at"])
                result = call(ex.practice_result, latest["submission_id"])
                if result.get("status") not in (None, "off", "unknown"):
                    practice = {k: result.get(k) for k in ("status", "score", "max_score")}
                    practice["submission_id"] = latest["submission_id"]
            items.append({
                "course_id": a["course_id"], "assignment_id": a["assignment_id"],
                "due_at": a["due_at"], "hard_deadline": a["hard_deadline"], "timezone": a["timezone"],
                "penalty_per_day": a["penalty_per_day"], "notebooks": a["notebooks"],
                "fetched": local.is_dir(), "path": f"{a['course_id']}/{a['assignment_id']}",
                "submissions": [{k: s[k] for k in ("submission_id", "received_at", "sha256", "late",
                                                   "penalty_percent")} for s in mine],
                "feedback": [{"notebook_id": f["notebook_id"], "released_at": f["released_at"],
                              "submission_id": f["submission_id"]} for f in fbs],
                "practice": practice,
            })
        from cartable.extensions.panel.classroom import space

        out.append({"course_id": c["course_id"], "class": c["class"], "subject": c["subject"], "assignments": items,
                    **space(ex, c["course_id"])})
    return {"role": "pupil", "user": who["name"], "courses": out}


def _exchange_op(op: str, course: str, assignment: str, root: Path):
    """Run one nbgrader exchange operation as JupyterLab's assignment list does."""
    from nbgrader.apps import NbGrader
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory

    app = NbGrader()
    app.load_config_file()
    config = app.config
    config.CourseDirectory.course_id = course
    config.CourseDirectory.assignment_id = assignment
    config.Exchange.assignment_dir = str(root)
    ex = getattr(ExchangeFactory(config=config), op)(coursedir=CourseDirectory(config=config),
                                                     authenticator=Authenticator(config=config), config=config)
    try:
        ex.start()
    except ExchangeError as e:
        raise exchange_refusal(e) from None
    return ex


def _check_member(course: str, assignment: str) -> dict:
    """The released assignment, or a refusal saying it is not one of the pupil's classes."""
    ex = client()
    who = call(ex.whoami)
    if course not in who.get("learns", []):
        raise Refusal.of(403, "not-your-class", _("This assignment is not one of your classes' assignments."))
    for a in call(ex.assignments, course_id=course):
        if a["assignment_id"] == assignment:
            return a
    raise Refusal.of(404, "not-released", _("This assignment has not been released (or has been withdrawn)."))


def fetch(course: str, assignment: str, root: Path) -> dict:
    _check_member(course, assignment)
    local = root / course / assignment
    if local.is_dir():
        raise Refusal.of(409, "already-fetched",
                         _("You already have this assignment, in {path}: open it there."),
                         path=f"{course}/{assignment}")
    _exchange_op("FetchAssignment", course, assignment, root)
    return {"path": f"{course}/{assignment}", "notebooks": sorted(p.name for p in local.glob("*.ipynb"))}


def submit(course: str, assignment: str, root: Path) -> dict:
    _check_member(course, assignment)
    if not (root / course / assignment).is_dir():
        raise Refusal.of(409, "not-fetched", _("Fetch this assignment before submitting it."))
    ex = _exchange_op("Submit", course, assignment, root)
    r = ex.receipt
    return {k: r.get(k) for k in ("submission_id", "received_at", "received_at_local", "sha256", "late",
                                  "penalty_percent", "messages")}


def fetch_feedback(course: str, assignment: str, root: Path) -> dict:
    _check_member(course, assignment)
    ex = _exchange_op("FetchFeedback", course, assignment, root)
    paths = sorted(str(Path(p).relative_to(root)) for p in ex.fetched)
    if not paths:
        raise Refusal.of(404, "no-feedback", _("Your teacher has not returned feedback on this assignment yet."))
    return {"paths": paths}
