"""A teacher's course operations: set up, create, release, collect, autograde, feedback, export.

The library under ``cartable course …`` (:mod:`cartable.grading.cli`) and the teacher's panel
(:mod:`cartable.extensions.panel.teacher`): both call these functions, in the teacher's own
server. Nothing here prints or depends on click; a refusal is an :class:`OperationError`, which
the command line shows as its error and the panel as its JSON refusal. Results are returned as
data, and each caller words them.

Each course is a folder ``~/cartable/<course id>`` (``$CARTABLE_COURSES_DIR``) holding an nbgrader
course (``source/``, ``release/``, ``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``); every exchange operation goes to the exchange service with the server's Hub
token (:func:`exchange_client`, the one place naming the exchange client). Deadlines are given in
the school's time zone (``$CARTABLE_TIMEZONE``).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cartable.core.i18n import _, bilingual

#: The gradebook database URL ``init`` uses when none is given (default: SQLite in the course folder).
GRADEBOOK_ENV = "CARTABLE_GRADEBOOK_URL"


class OperationError(Exception):
    """An operation refused or failed: a gettext msgid and its parameters, or a text given as is
    (nbgrader's output, the exchange's own trilingual refusal)."""

    def __init__(self, msgid: str | None, text: str | None = None, **params):
        self.msgid, self.params, self.text = msgid, params, text
        super().__init__(self.message)

    @classmethod
    def verbatim(cls, text: str) -> OperationError:
        return cls(None, text)

    @property
    def message(self) -> str:
        """French then English (:func:`~cartable.core.i18n.bilingual`), or the text as given."""
        return self.text if self.msgid is None else bilingual(self.msgid, **self.params)


def _not_set_up(course: str) -> OperationError:
    return OperationError(_("The course {course} is not set up here: run `cartable course init {course}` first."),
                          course=course)


def venv_on_path() -> None:
    """nbgrader runs ``alembic`` and ``jupyter`` by name: find them beside this Python first."""
    bindir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def courses_root() -> Path:
    return Path(os.environ.get("CARTABLE_COURSES_DIR") or Path.home() / "cartable")


def course_dir(course: str) -> Path:
    return courses_root() / course


def is_set_up(course: str) -> bool:
    return (course_dir(course) / "nbgrader_config.py").exists()


def default_gradebook() -> str | None:
    return os.environ.get(GRADEBOOK_ENV) or None


# --------------------------------------------------------------------------- the exchange


def exchange_client():
    """The exchange client with this server's Hub token and the service's URL."""
    from cartable.grading.exchange.client import ExchangeClient

    ex = ExchangeClient.from_environment()
    if not ex.configured:
        raise OperationError(_("Run this command in your own server on the hub: "
                               "the exchange service is not configured here."))
    return ex


def exchange_api(operation):
    """``operation(client)`` with this server's exchange client; its refusal (already in each
    language) as an :class:`OperationError`."""
    from cartable.grading.exchange.client import ExchangeRefusal

    ex = exchange_client()
    try:
        return operation(ex)
    except ExchangeRefusal as e:
        raise OperationError.verbatim(str(e)) from None


def served() -> bool:
    """Whether this process runs in a server of the hub (with a Hub token and the exchange's URL)."""
    return bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("CARTABLE_EXCHANGE_URL"))


# --------------------------------------------------------------------------- nbgrader


def nbgrader(course: str, *args) -> subprocess.CompletedProcess:
    """``nbgrader <args>`` in the course folder; its output (the end) as the error when it fails."""
    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise _not_set_up(course)
    r = subprocess.run([sys.executable, "-m", "nbgrader", *map(str, args)], cwd=d, capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        raise OperationError.verbatim(out[-3000:])
    return r


def output(r: subprocess.CompletedProcess, limit: int = 2000) -> str:
    return (r.stdout + r.stderr).strip()[-limit:]


# --------------------------------------------------------------------------- the operations


def my_courses() -> list[dict]:
    """The courses this server's user teaches or learns, as the exchange lists them."""
    return exchange_api(lambda ex: ex.courses())


def site_courses(db) -> list:
    """Every course of the site (on the hub machine), by id."""
    from cartable.grading.courses import CourseRegistry

    return sorted(CourseRegistry(db).courses().values(), key=lambda c: c.id)


def init_course(course: str, gradebook: str | None = None) -> Path:
    """Set up the folder and gradebook of ``course`` (one this user teaches), with its pupils."""
    from cartable.grading.courses import course_gradebook_url, ensure_gradebook, write_course_config

    mine = {c["course_id"]: c for c in my_courses() if c["role"] == "teacher"}
    if course not in mine:
        raise OperationError(_("You do not teach the course {course}."), course=course)
    d = course_dir(course)
    try:
        write_course_config(d, course, gradebook)
    except ValueError as e:  # a URL the dashboards and the other commands would not read
        raise OperationError(_("This gradebook cannot be used: {reason}."), reason=str(e)) from None
    ensure_gradebook(course_gradebook_url(d), course, mine[course].get("pupils", []))
    return d


def generate_assignment(course: str, name: str) -> Path:
    """``release/<name>`` from ``source/<name>`` (nbgrader ``db assignment add``, ``generate_assignment``)."""
    nbgrader(course, "db", "assignment", "add", name)
    nbgrader(course, "generate_assignment", name, "--force")
    return course_dir(course) / "release" / name


def create_assignment(course: str, name: str, sources: Iterable[str | Path]) -> Path:
    """Assignment ``name`` of ``course`` from source notebook(s) (solutions and hidden tests marked):
    copied into ``source/<name>``, then generated; the ``release/<name>`` folder."""
    src = course_dir(course) / "source" / name
    src.mkdir(parents=True, exist_ok=True)
    for s in sources:
        shutil.copy(s, src / Path(s).name)
    return generate_assignment(course, name)


def generate_if_stale(course: str, name: str) -> bool:
    """:func:`generate_assignment` when ``release/<name>`` is missing or older than ``source/<name>``;
    whether it ran."""
    venv_on_path()
    d = course_dir(course)
    src = [p.stat().st_mtime for p in (d / "source" / name).rglob("*") if p.is_file()]
    rel = [p.stat().st_mtime for p in (d / "release" / name).rglob("*") if p.is_file()] \
        if (d / "release" / name).is_dir() else []
    if rel and max(rel) >= max(src, default=0):
        return False
    generate_assignment(course, name)
    return True


def release(course: str, name: str, due: str, hard: str | None = None, penalty: float | None = None,
            force: bool = False) -> list[dict]:
    """Release ``name`` to the pupils of ``course`` with its deadlines; the exchange's entries for it."""
    args = ["release_assignment", name, f"--ExchangeReleaseAssignment.due={due}"]
    if hard:
        args.append(f"--ExchangeReleaseAssignment.hard_deadline={hard}")
    if penalty is not None:
        args.append(f"--ExchangeReleaseAssignment.penalty_per_day={penalty}")
    if force:
        args.append("--force")
    nbgrader(course, *args)
    return [a for a in exchange_api(lambda ex: ex.assignments(course_id=course)) if a["assignment_id"] == name]


def practice_on(course: str, name: str) -> None:
    """Send the source (solutions, hidden tests, support files) to the exchange, which grades on submit."""
    src = course_dir(course) / "source" / name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(src.rglob("*")):
            if p.is_file() and ".ipynb_checkpoints" not in p.parts:
                tar.add(p, arcname=str(p.relative_to(src)))
    exchange_api(lambda ex: ex.practice_on(course, name, buf.getvalue()))


def extend(course: str, name: str, pupil: str, due: str, hard: str | None = None) -> dict:
    """``pupil``'s own deadlines for ``name``; the exchange's entry."""
    return exchange_api(lambda ex: ex.extend(course, name, pupil, due, hard))


def status(course: str, name: str) -> list[dict]:
    """Who submitted ``name``, when, and whether late."""
    return exchange_api(lambda ex: ex.status(course, name))


def collect(course: str, name: str, latest: bool = False) -> str:
    """The submissions of ``name`` into ``submitted/`` (the latest on time, or the latest); nbgrader's output."""
    args = ["collect", name, "--update"]
    if latest:
        args.append("--ExchangeCollect.mode=latest")
    return output(nbgrader(course, *args))


@dataclass
class Autograding:
    """One autograde run, ready to start: the grader, the submissions to grade, the limits."""

    course: str
    name: str
    folder: Path
    grader: object
    todo: list[str] = field(default_factory=list)

    @property
    def limits(self):
        return self.grader.limits

    def run(self, step: Callable, backend: str = "local") -> None:
        """Grade every submission of :attr:`todo`, calling ``step(job)`` after each one.
        ``backend``: ``local`` (a worker pool in this process) or ``celery`` (the site's workers)."""
        from cartable.grading.autograde import grade_with_celery

        grader = self.grader
        try:
            if backend == "celery":
                grader.close()
                grade_with_celery(self.folder, self.course, grader.db_url, self.name, self.todo, grader.limits, step)
            else:
                with grader:
                    grader.grade(self.name, self.todo, step)
        finally:
            grader.close()


def autograding(course: str, name: str, students: Iterable[str] = (), workers: int | None = None,
                cell_timeout: float = 30.0, warn: Callable[[str], None] = lambda _message: None) -> Autograding:
    """An autograde run of the collected submissions of ``name`` (or of ``students``), each in a
    sandbox; ``warn`` gets each warning (bilingual) as it arises."""
    from cartable.grading.autograde import Autograder, RemoteSandbox, site_max_limits
    from cartable.grading.sandbox import Limits, isolation_available

    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise _not_set_up(course)
    limits = Limits(cell_seconds=cell_timeout)
    remote = None if isolation_available() else RemoteSandbox.from_environment(course)
    if remote is None and not isolation_available():
        warn(bilingual(_("Warning: not running as root, so submissions run without their own account, "
                         "network isolation or hidden folders; only the resource limits apply.")))
    grader = Autograder(d, course, limits=limits, workers=workers, forkserver=remote, max_limits=site_max_limits())
    for key, (asked, used) in grader.lowered.items():
        warn(bilingual(_("The grading limit {key} = {asked} is above the site's maximum: {used} is used."),
                       key=key, asked=asked, used=used))
    todo = list(students) or grader.submissions(name)
    if not todo:
        raise OperationError(_("No collected submission of {name}: run `cartable course collect "
                               "{course} {name}` first."), name=name, course=course)
    return Autograding(course, name, d, grader, todo)


def show_in_formgrader(course: str) -> str:
    """Make ``course`` the one the formgrader (Nbgrader menu of JupyterLab) shows; its URL."""
    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise _not_set_up(course)
    (Path.home() / "nbgrader_config.py").write_text(
        "# Written by `cartable course formgrader`: the course shown by the formgrader.\n"
        f"exec(open({str(d / 'nbgrader_config.py')!r}).read())\n", encoding="utf-8")
    return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/") + "formgrader"


def feedback(course: str, name: str) -> str:
    """Feedback for ``name`` generated (hidden tests kept hidden) and returned to the pupils; nbgrader's output."""
    from nbgrader.api import Gradebook

    from cartable.grading.courses import course_gradebook_url
    from cartable.grading.grades import refresh_late_penalties

    d = course_dir(course)
    venv_on_path()
    with Gradebook(course_gradebook_url(d), course) as gb:
        refresh_late_penalties(gb, d)  # manual points graded since autograde count in the penalty
    nbgrader(course, "generate_feedback", name, "--force")
    return output(nbgrader(course, "release_feedback", name))


def export(course: str, fmt: str = "csv", out: str | Path | None = None) -> tuple[int, Path]:
    """``course``'s grades on a /20 scale (late penalties applied) written as CSV or XLSX; (rows, path)."""
    from cartable.grading.grades import grades_table

    d = course_dir(course)
    df = grades_table(d, course)
    path = Path(out or d / f"notes-{course}.{fmt}")
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_excel(path, index=False, sheet_name="notes")
    return len(df), path


def audit(course: str) -> list[dict]:
    """The exchange's audit log of ``course``."""
    return exchange_api(lambda ex: ex.audit(course_id=course))
