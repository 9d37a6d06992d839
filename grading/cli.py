"""``cartable course …``: a teacher's assignment cycle, run in the teacher's own server.

Each course is a folder ``~/cartable/<course id>`` holding an nbgrader course (``source/``,
``release/``, ``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``); every exchange
operation goes to the exchange service with the server's Hub token. Deadlines are given
in the school's time zone (``$CARTABLE_TIMEZONE``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from cartable.core.i18n import _, bilingual


def _venv_on_path() -> None:
    """nbgrader runs ``alembic`` and ``jupyter`` by name: find them beside this Python first."""
    bindir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def courses_root() -> Path:
    return Path(os.environ.get("CARTABLE_COURSES_DIR") or Path.home() / "cartable")


def course_dir(course: str) -> Path:
    return courses_root() / course


def _client():
    from cartable.grading.exchange.client import ExchangeClient

    ex = ExchangeClient.from_environment()
    if not ex.configured:
        raise click.ClickException(bilingual(_("Run this command in your own server on the hub: "
                                               "the exchange service is not configured here.")))
    return ex


def _api(operation):
    """``operation(client)`` with this server's exchange client
    (:class:`~cartable.grading.exchange.client.ExchangeClient`); a refusal ends the command with the
    service's text."""
    from cartable.grading.exchange.client import ExchangeRefusal

    ex = _client()
    try:
        return operation(ex)
    except ExchangeRefusal as e:
        raise click.ClickException(str(e)) from None


def nbgrader(course: str, *args) -> subprocess.CompletedProcess:
    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise click.ClickException(bilingual(_("The course {course} is not set up here: run `cartable course init "
                                               "{course}` first."), course=course))
    r = subprocess.run([sys.executable, "-m", "nbgrader", *map(str, args)], cwd=d, capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        raise click.ClickException(out[-3000:])
    return r


@click.group("course")
def course_cmd():
    """A teacher's courses: assignments, release, collect, grading, feedback, grades."""
    _venv_on_path()


@course_cmd.command("list")
@click.pass_obj
def course_list(obj):
    """The courses one teaches (in a server) or every course of the site (on the hub machine)."""
    if os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("CARTABLE_EXCHANGE_URL"):
        for c in _api(lambda ex: ex.courses()):
            click.echo(f"{c['course_id']}\t{c['class']}\t{c['subject']}\t{c['role']}")
        return
    from cartable.grading.courses import CourseRegistry

    for c in sorted(CourseRegistry(obj.db()).courses().values(), key=lambda c: c.id):
        click.echo(f"{c.id}\t{c.class_code}\t{c.subject}\t{','.join(c.teachers)}\t{len(c.pupils)}")


@course_cmd.command("init")
@click.argument("course")
@click.option("--gradebook", envvar="CARTABLE_GRADEBOOK_URL", default=None,
              help="Gradebook database URL (PostgreSQL); default: SQLite in the course folder.")
def course_init(course, gradebook):
    """Set up the folder and gradebook of COURSE, with its pupils."""
    from cartable.grading.courses import course_gradebook_url, ensure_gradebook, write_course_config

    mine = {c["course_id"]: c for c in _api(lambda ex: ex.courses()) if c["role"] == "teacher"}
    if course not in mine:
        raise click.ClickException(bilingual(_("You do not teach the course {course}."), course=course))
    d = course_dir(course)
    try:
        write_course_config(d, course, gradebook)
    except ValueError as e:  # a URL the dashboards and the other commands would not read
        raise click.ClickException(bilingual(_("This gradebook cannot be used: {reason}."), reason=str(e))) from None
    ensure_gradebook(course_gradebook_url(d), course, mine[course].get("pupils", []))
    click.echo(bilingual(_("Course {course} ready in {path}."), course=course, path=d))


@course_cmd.command("create-assignment")
@click.argument("course")
@click.argument("name")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def create_assignment(course, name, sources):
    """Make assignment NAME of COURSE from source notebook(s) (solutions and hidden tests marked)."""
    src = course_dir(course) / "source" / name
    src.mkdir(parents=True, exist_ok=True)
    for s in sources:
        shutil.copy(s, src / Path(s).name)
    nbgrader(course, "db", "assignment", "add", name)
    nbgrader(course, "generate_assignment", name, "--force")
    click.echo(bilingual(_("Assignment {name} generated in {path}."), name=name, path=course_dir(course) / "release" / name))


@course_cmd.command("release")
@click.argument("course")
@click.argument("name")
@click.option("--due", required=True, help="Due date, school time zone, e.g. '2026-11-20 18:00'.")
@click.option("--hard", "hard", default=None, help="Hard deadline: refused after it.")
@click.option("--penalty", type=float, default=None, help="Late penalty, percent per started day.")
@click.option("--force", is_flag=True, help="Replace a released version.")
@click.option("--practice", is_flag=True,
              help="Practice mode: every submission is graded at once (sandboxed) and the pupil gets the feedback.")
def release(course, name, due, hard, penalty, force, practice):
    """Release NAME to the pupils of COURSE with its deadlines."""
    args = ["release_assignment", name, f"--ExchangeReleaseAssignment.due={due}"]
    if hard:
        args.append(f"--ExchangeReleaseAssignment.hard_deadline={hard}")
    if penalty is not None:
        args.append(f"--ExchangeReleaseAssignment.penalty_per_day={penalty}")
    if force:
        args.append("--force")
    nbgrader(course, *args)
    for a in _api(lambda ex: ex.assignments(course_id=course)):
        if a["assignment_id"] == name:
            click.echo(bilingual(_("Released {name} to {course}, due {due}."), name=name, course=course,
                                 due=a["due_local"]))
    if practice:
        _practice_on(course, name)


def _practice_on(course: str, name: str) -> None:
    """Send the source (solutions, hidden tests, support files) to the exchange, which grades on submit."""
    import io
    import tarfile

    src = course_dir(course) / "source" / name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(src.rglob("*")):
            if p.is_file() and ".ipynb_checkpoints" not in p.parts:
                tar.add(p, arcname=str(p.relative_to(src)))
    _api(lambda ex: ex.practice_on(course, name, buf.getvalue()))
    click.echo(bilingual(_("Practice mode on: each submission of {name} is graded at once and its feedback "
                           "returned to the pupil."), name=name))


@course_cmd.command("extend")
@click.argument("course")
@click.argument("name")
@click.argument("pupil")
@click.option("--due", required=True)
@click.option("--hard", default=None)
def extend(course, name, pupil, due, hard):
    """Give PUPIL their own deadlines for NAME."""
    a = _api(lambda ex: ex.extend(course, name, pupil, due, hard))
    click.echo(bilingual(_("{pupil} may submit {name} until {due}."), pupil=pupil, name=name, due=a["due_local"]))


@course_cmd.command("status")
@click.argument("course")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def status(course, name, as_json):
    """Who submitted NAME, when, and whether late."""
    rows = _api(lambda ex: ex.status(course, name))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        flag = " (late/en retard)" if r["late"] else ""
        click.echo(f"{r['student']}\t{r['submissions']}\t{r['last_received_local'] or '-'}{flag}")


@course_cmd.command("collect")
@click.argument("course")
@click.argument("name")
@click.option("--latest", is_flag=True, help="Take the latest submission even if late (default: latest on time).")
def collect(course, name, latest):
    """Collect the submissions of NAME into submitted/."""
    args = ["collect", name, "--update"]
    if latest:
        args.append("--ExchangeCollect.mode=latest")
    r = nbgrader(course, *args)
    click.echo((r.stdout + r.stderr).strip()[-2000:])


@course_cmd.command("autograde")
@click.argument("course")
@click.argument("name")
@click.option("--student", "students", multiple=True, help="Grade only this pupil (repeatable).")
@click.option("--workers", type=int, default=None, help="Submissions graded at once (default: the cores).")
@click.option("--backend", type=click.Choice(["local", "celery"]), default="local", show_default=True,
              help="local: a worker pool in this process; celery: the site's Celery workers (Redis broker).")
@click.option("--cell-timeout", type=float, default=30.0, show_default=True, help="Seconds per cell.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per submission instead of the summary.")
def autograde(course, name, students, workers, backend, cell_timeout, as_json):
    """Autograde the collected submissions of NAME, each in a sandbox; report scores and tampering."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cartable.grading.autograde import Autograder, grade_with_celery, site_max_limits
    from cartable.grading.sandbox import Limits, isolation_available

    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise click.ClickException(bilingual(_("The course {course} is not set up here: run `cartable course init "
                                               "{course}` first."), course=course))
    from cartable.grading.autograde import RemoteSandbox

    limits = Limits(cell_seconds=cell_timeout)
    remote = None if isolation_available() else RemoteSandbox.from_environment(course)
    if remote is None and not isolation_available():
        click.echo(bilingual(_("Warning: not running as root, so submissions run without their own account, "
                               "network isolation or hidden folders; only the resource limits apply.")), err=True)
    grader = Autograder(d, course, limits=limits, workers=workers, forkserver=remote, max_limits=site_max_limits())
    for key, (asked, used) in grader.lowered.items():
        click.echo(bilingual(_("The grading limit {key} = {asked} is above the site's maximum: {used} is used."),
                             key=key, asked=asked, used=used), err=True)
    limits = grader.limits
    todo = list(students) or grader.submissions(name)
    if not todo:
        raise click.ClickException(bilingual(_("No collected submission of {name}: run `cartable course collect "
                                               "{course} {name}` first."), name=name, course=course))
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=as_json, transient=False) as bar:
        task = bar.add_task(_("Grading"), total=len(todo))

        def step(job):
            results.append(job)
            bar.advance(task)
            if as_json:
                click.echo(json.dumps(job.as_dict(), ensure_ascii=False))

        try:
            if backend == "celery":
                grader.close()
                grade_with_celery(d, course, grader.db_url, name, todo, limits, step)
            else:
                with grader:
                    grader.grade(name, todo, step)
        finally:
            grader.close()
    if as_json:
        return
    failed = [r for r in results if r.error or any(n.error for n in r.notebooks)]
    click.echo(bilingual(_("{n} submissions graded, {failed} with a problem."), n=len(results), failed=len(failed)))
    for r in sorted(results, key=lambda r: r.student):
        line = f"{r.student}\t{r.score:g}"
        problems = [r.error] if r.error else []
        problems += [f"{n.name}: {n.error}" for n in r.notebooks if n.error]
        if problems:
            line += "\t" + " | ".join(problems)
        click.echo(line)
        for t in r.tampering:
            click.echo("\t" + bilingual(_("tampering: {what}"), what=t))


@course_cmd.command("formgrader")
@click.argument("course")
def formgrader(course):
    """Make COURSE the one the formgrader (Nbgrader menu of JupyterLab) shows."""
    d = course_dir(course)
    if not (d / "nbgrader_config.py").exists():
        raise click.ClickException(bilingual(_("The course {course} is not set up here: run `cartable course init "
                                               "{course}` first."), course=course))
    (Path.home() / "nbgrader_config.py").write_text(
        "# Written by `cartable course formgrader`: the course shown by the formgrader.\n"
        f"exec(open({str(d / 'nbgrader_config.py')!r}).read())\n", encoding="utf-8")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    click.echo(bilingual(_("The formgrader now shows {course}: open {url} (or Nbgrader > Formgrader in JupyterLab)."),
                         course=course, url=f"{prefix}formgrader"))


@course_cmd.command("feedback")
@click.argument("course")
@click.argument("name")
def feedback(course, name):
    """Generate feedback for NAME (hidden tests kept hidden) and return it to the pupils."""
    from nbgrader.api import Gradebook

    from cartable.grading.courses import course_gradebook_url, venv_on_path
    from cartable.grading.grades import refresh_late_penalties

    d = course_dir(course)
    venv_on_path()
    with Gradebook(course_gradebook_url(d), course) as gb:
        refresh_late_penalties(gb, d)  # manual points graded since autograde count in the penalty
    nbgrader(course, "generate_feedback", name, "--force")
    r = nbgrader(course, "release_feedback", name)
    click.echo((r.stdout + r.stderr).strip()[-2000:])


@course_cmd.command("export")
@click.argument("course")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
def export(course, fmt, output):
    """Export COURSE's grades on a /20 scale (late penalties applied)."""
    from cartable.grading.grades import grades_table

    d = course_dir(course)
    df = grades_table(d, course)
    out = Path(output or d / f"notes-{course}.{fmt}")
    if fmt == "csv":
        df.to_csv(out, index=False)
    else:
        df.to_excel(out, index=False, sheet_name="notes")
    click.echo(bilingual(_("{n} grades written to {path}."), n=len(df), path=out))


@course_cmd.command("audit")
@click.argument("course")
def audit(course):
    """The exchange's audit log of COURSE."""
    for e in _api(lambda ex: ex.audit(course_id=course)):
        click.echo(f"{e['at']}\t{e['actor']}\t{e['action']}\t{e['assignment_id'] or ''}\t{e['target'] or ''}\t"
                   f"{e['sha256'] or ''}\t{e['outcome']}")
