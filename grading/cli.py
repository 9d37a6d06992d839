"""``cartable course …``: a teacher's assignment cycle, run in the teacher's own server.

The commands word what :mod:`cartable.grading.operations` does (the same operations as the
teacher's panel) and show its :class:`~cartable.grading.operations.OperationError` as their error.
Each course is a folder ``~/cartable/<course id>`` holding an nbgrader course; every exchange
operation goes to the exchange service with the server's Hub token. Deadlines are given in the
school's time zone (``$CARTABLE_TIMEZONE``).
"""

from __future__ import annotations

import functools
import json

import click

from cartable.core.i18n import _, bilingual
from cartable.grading import operations as ops


def refusals(command):
    """An :class:`~cartable.grading.operations.OperationError` shown as the command's error."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ops.OperationError as e:
            raise click.ClickException(e.message) from None

    return run


@click.group("course")
def course_cmd():
    """A teacher's courses: assignments, release, collect, grading, feedback, grades."""
    ops.venv_on_path()


@course_cmd.command("list")
@click.pass_obj
@refusals
def course_list(obj):
    """The courses one teaches (in a server) or every course of the site (on the hub machine)."""
    if ops.served():
        for c in ops.my_courses():
            click.echo(f"{c['course_id']}\t{c['class']}\t{c['subject']}\t{c['role']}")
        return
    for c in ops.site_courses(obj.db()):
        click.echo(f"{c.id}\t{c.class_code}\t{c.subject}\t{','.join(c.teachers)}\t{len(c.pupils)}")


@course_cmd.command("init")
@click.argument("course")
@click.option("--gradebook", envvar=ops.GRADEBOOK_ENV, default=None,
              help="Gradebook database URL (PostgreSQL); default: SQLite in the course folder.")
@refusals
def course_init(course, gradebook):
    """Set up the folder and gradebook of COURSE, with its pupils."""
    d = ops.init_course(course, gradebook)
    click.echo(bilingual(_("Course {course} ready in {path}."), course=course, path=d))


@course_cmd.command("create-assignment")
@click.argument("course")
@click.argument("name")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@refusals
def create_assignment(course, name, sources):
    """Make assignment NAME of COURSE from source notebook(s) (solutions and hidden tests marked)."""
    path = ops.create_assignment(course, name, sources)
    click.echo(bilingual(_("Assignment {name} generated in {path}."), name=name, path=path))


@course_cmd.command("release")
@click.argument("course")
@click.argument("name")
@click.option("--due", required=True, help="Due date, school time zone, e.g. '2026-11-20 18:00'.")
@click.option("--hard", "hard", default=None, help="Hard deadline: refused after it.")
@click.option("--penalty", type=float, default=None, help="Late penalty, percent per started day.")
@click.option("--force", is_flag=True, help="Replace a released version.")
@click.option("--practice", is_flag=True,
              help="Practice mode: every submission is graded at once (sandboxed) and the pupil gets the feedback.")
@refusals
def release(course, name, due, hard, penalty, force, practice):
    """Release NAME to the pupils of COURSE with its deadlines."""
    for a in ops.release(course, name, due, hard, penalty, force):
        click.echo(bilingual(_("Released {name} to {course}, due {due}."), name=name, course=course,
                             due=a["due_local"]))
    if practice:
        ops.practice_on(course, name)
        click.echo(bilingual(_("Practice mode on: each submission of {name} is graded at once and its feedback "
                               "returned to the pupil."), name=name))


@course_cmd.command("extend")
@click.argument("course")
@click.argument("name")
@click.argument("pupil")
@click.option("--due", required=True)
@click.option("--hard", default=None)
@refusals
def extend(course, name, pupil, due, hard):
    """Give PUPIL their own deadlines for NAME."""
    a = ops.extend(course, name, pupil, due, hard)
    click.echo(bilingual(_("{pupil} may submit {name} until {due}."), pupil=pupil, name=name, due=a["due_local"]))


@course_cmd.command("status")
@click.argument("course")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@refusals
def status(course, name, as_json):
    """Who submitted NAME, when, and whether late."""
    rows = ops.status(course, name)
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
@refusals
def collect(course, name, latest):
    """Collect the submissions of NAME into submitted/."""
    click.echo(ops.collect(course, name, latest))


@course_cmd.command("autograde")
@click.argument("course")
@click.argument("name")
@click.option("--student", "students", multiple=True, help="Grade only this pupil (repeatable).")
@click.option("--workers", type=int, default=None, help="Submissions graded at once (default: the cores).")
@click.option("--backend", type=click.Choice(["local", "celery"]), default="local", show_default=True,
              help="local: a worker pool in this process; celery: the site's Celery workers (Redis broker).")
@click.option("--cell-timeout", type=float, default=30.0, show_default=True, help="Seconds per cell.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per submission instead of the summary.")
@refusals
def autograde(course, name, students, workers, backend, cell_timeout, as_json):
    """Autograde the collected submissions of NAME, each in a sandbox; report scores and tampering."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    run = ops.autograding(course, name, students, workers=workers, cell_timeout=cell_timeout,
                          warn=lambda message: click.echo(message, err=True))
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=as_json, transient=False) as bar:
        task = bar.add_task(_("Grading"), total=len(run.todo))

        def step(job):
            results.append(job)
            bar.advance(task)
            if as_json:
                click.echo(json.dumps(job.as_dict(), ensure_ascii=False))

        run.run(step, backend)
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
@refusals
def formgrader(course):
    """Make COURSE the one the formgrader (Nbgrader menu of JupyterLab) shows."""
    url = ops.show_in_formgrader(course)
    click.echo(bilingual(_("The formgrader now shows {course}: open {url} (or Nbgrader > Formgrader in JupyterLab)."),
                         course=course, url=url))


@course_cmd.command("feedback")
@click.argument("course")
@click.argument("name")
@refusals
def feedback(course, name):
    """Generate feedback for NAME (hidden tests kept hidden) and return it to the pupils."""
    click.echo(ops.feedback(course, name))


@course_cmd.command("export")
@click.argument("course")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@refusals
def export(course, fmt, output):
    """Export COURSE's grades on a /20 scale (late penalties applied)."""
    n, path = ops.export(course, fmt, output)
    click.echo(bilingual(_("{n} grades written to {path}."), n=n, path=path))


@course_cmd.command("audit")
@click.argument("course")
@refusals
def audit(course):
    """The exchange's audit log of COURSE."""
    for e in ops.audit(course):
        click.echo(f"{e['at']}\t{e['actor']}\t{e['action']}\t{e['assignment_id'] or ''}\t{e['target'] or ''}\t"
                   f"{e['sha256'] or ''}\t{e['outcome']}")
