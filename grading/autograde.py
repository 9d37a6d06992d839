"""The grading engine: one job per submission, sandboxed execution, nbgrader's grading steps.

A job goes through three phases:

1. **prepare** (gradebook, trusted): what ``nbgrader autograde`` does before executing —
   the student and the submission with its timestamp, the assignment's other source files
   copied over the submission's, notebooks the gradebook does not know skipped, missing
   ones scored zero; then each notebook is read (a malformed one fails alone, with a clear
   message) and passed through nbgrader's *sanitizing* preprocessors: outputs cleared,
   duplicate ids removed, kernelspec, read-only and test cells overwritten from the source,
   deleted test cells re-inserted. What the pupil changed in those cells is recorded as
   tampering;
2. **execute** (sandbox, parallel): every notebook in a fresh fork of the
   :mod:`fork server <.forkserver>`, under :mod:`.sandbox` limits, through :mod:`.runner`;
3. **save** (gradebook, trusted): nbgrader's *autograding* preprocessors on the executed
   notebook (``SaveAutoGrades``, ``AssignLatePenalties``, …) and the autograded copy
   written where the formgrader and ``generate_feedback`` look for it.

Phases 1 and 3 hold the gradebook lock (SQLite is one writer); phase 2 runs on up to
``workers`` submissions at once. :class:`Autograder` is the in-process engine; the Celery
back-end (:mod:`.tasks`) runs the same :meth:`Autograder.grade_one` in Celery workers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbformat.v4.rwbase import rejoin_lines, strip_transient
from nbformat.validator import ValidationError

from cartable.core.i18n import _, bilingual
from cartable.grading.forkserver import Execution, ForkServer
from cartable.grading.grades import late_penalty, penalty_percent
from cartable.grading.sandbox import Limits, isolation_available

log = logging.getLogger("cartable.grading")

REPORT_NAME = ".cartable-grading.json"
MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024


@dataclass
class NotebookResult:
    name: str
    score: float | None = None
    max_score: float | None = None
    error: str | None = None
    tampering: list[str] = field(default_factory=list)
    stopped: str | None = None
    seconds: float = 0.0


@dataclass
class JobResult:
    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    error: str | None = None
    sandbox: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(n.score or 0 for n in self.notebooks)

    @property
    def tampering(self) -> list[str]:
        return [f"{n.name}: {t}" for n in self.notebooks for t in n.tampering]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["score"] = self.score
        return d


def _message(fr: str, en: str, **kw) -> str:
    return (fr + " / " + en).format(**kw)


def clamp_limits(limits: Limits, maxima: dict | None) -> tuple[Limits, dict]:
    """``limits`` lowered to the site's maxima (:meth:`Limits.clamped`), each lowering logged."""
    limits, lowered = limits.clamped(maxima)
    for key, (asked, used) in lowered.items():
        log.warning(bilingual(_("The grading limit {key} = {asked} is above the site's maximum: {used} is used."),
                              key=key, asked=asked, used=used))
    return limits, lowered


def site_max_limits() -> dict | None:
    """The site's ``grading.max_limits`` where this process knows its ``cartable.yaml``
    (``$CARTABLE_CONFIG``: the services, the Celery workers); else None, the defaults."""
    if not os.environ.get("CARTABLE_CONFIG"):
        return None
    from cartable.core import config

    try:
        return config.load()["grading"]["max_limits"]
    except (config.ConfigError, OSError) as e:
        log.warning("grading limits: the defaults apply, the site's configuration cannot be read: %s", e)
        return None


class Autograder:
    """Grades the submissions of one course folder (an nbgrader course directory).

    The gradebook is ``db_url``, else the one the folder's ``nbgrader_config.py`` names, read
    without running it (:func:`~cartable.grading.courses.course_gradebook_url`): the same reading
    as the other ``cartable course`` commands and the dashboards."""

    def __init__(self, course_dir: str | Path, course_id: str, db_url: str | None = None, *,
                 limits: Limits | None = None, workers: int | None = None, forkserver: ForkServer | None = None,
                 hidden: Iterable[str] = (), max_limits: dict | None = None):
        from cartable.grading.courses import course_gradebook_url, venv_on_path

        venv_on_path()  # nbgrader runs ``alembic`` by name
        self.root = Path(course_dir).resolve()
        self.course_id = course_id
        self.db_url = db_url or course_gradebook_url(self.root)
        self.limits, self.lowered = clamp_limits(limits or Limits(), max_limits)
        # two more than the cores: while a job waits for its sandbox, another prepares or saves
        self.workers = workers or max(1, os.cpu_count() or 1) + 2
        self._own_forkserver = forkserver is None
        self.forkserver = forkserver or ForkServer()
        self.hidden = [str(self.root), *hidden, "/home", "/srv"]
        self.db_lock = threading.Lock()
        self._sources: dict[str, dict] = {}
        self._shapes: dict[str, dict] = {}
        self._files: dict[str, dict[str, bytes]] = {}
        self._config = self._nbgrader_config()
        self._gb = None

    # -- configuration --------------------------------------------------------------------
    def _nbgrader_config(self):
        from traitlets.config import Config

        c = Config()
        cfg = self.root / "nbgrader_config.py"
        if cfg.is_symlink() or (cfg.exists() and cfg.stat().st_uid != os.geteuid()):
            # a service or a Celery worker grading a teacher's folder: the teacher's file is code,
            # run only by its owner's own commands; defaults and the literal gradebook URL apply
            log.warning("not running %s: it belongs to another account", cfg)
        elif cfg.exists():
            ns = {"get_config": lambda: c, "c": c}
            try:
                exec(compile(cfg.read_text(encoding="utf-8"), str(cfg), "exec"), ns)
            except Exception as e:  # a broken course config is reported, defaults apply
                log.warning("ignoring %s: %s", cfg, e)
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.course_id = self.course_id
        c.CourseDirectory.db_url = self.db_url
        c.OverwriteCells.add_missing_cells = True
        return c

    def __enter__(self):
        threading.Thread(target=self.forkserver.start, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._gb is not None:
            self._gb.close()
            self._gb = None
        if self._own_forkserver:
            self.forkserver.stop()

    def gradebook(self):
        """The gradebook, opened once for the batch (use under ``db_lock``)."""
        from nbgrader.api import Gradebook

        if self._gb is None:
            self._gb = Gradebook(self.db_url, self.course_id)
            if self._gb.engine.dialect.name == "sqlite":
                _write_ahead_log(self._gb.engine)
        return self._gb

    # -- the batch ------------------------------------------------------------------------
    def submissions(self, assignment: str) -> list[str]:
        base = self.root / "submitted"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir())

    def grade(self, assignment: str, students: Iterable[str] | None = None,
              progress: Callable[[JobResult], None] | None = None) -> list[JobResult]:
        """Grade every collected submission of ``assignment`` (or those of ``students``)."""
        students = list(students) if students is not None else self.submissions(assignment)
        # the fork server imports its libraries while the first submissions are prepared
        threading.Thread(target=self.forkserver.start, daemon=True).start()
        results: list[JobResult] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="grade") as pool:
            for res in pool.map(lambda s: self.grade_one(assignment, s), students):
                results.append(res)
                if progress:
                    progress(res)
        return results

    # -- one submission -------------------------------------------------------------------
    def grade_one(self, assignment: str, student: str) -> JobResult:
        t0 = time.monotonic()
        job = JobResult(student=student, assignment=assignment)
        try:
            with self.db_lock:
                prepared = self._prepare(assignment, student, job)
            files = self._support_files(assignment)
            todo = [(name, cells) for name, (nb, cells) in prepared.items() if cells is not None]
            t = time.monotonic()
            ran = self.forkserver.start().run_many(todo, self.limits.as_dict(), files, self.hidden) if todo else {}
            seconds = (time.monotonic() - t) / max(1, len(todo))
            executions = {name: (ex, seconds) for name, ex in ran.items()}
            with self.db_lock:
                self._save(assignment, student, prepared, executions, job)
            clamped = job.sandbox.setdefault("clamped", {})  # what a remote sandbox lowered further
            for key, (asked, used) in self.lowered.items():
                clamped[key] = [asked, clamped.get(key, [None, used])[1]]
        except Exception as e:  # one submission's failure never stops the batch
            log.exception("grading %s/%s failed", student, assignment)
            job.error = f"{type(e).__name__}: {e}"
        job.seconds = time.monotonic() - t0
        self._write_report(job)
        return job

    def _paths(self, assignment: str, student: str) -> tuple[Path, Path, Path]:
        return (self.root / "submitted" / student / assignment, self.root / "autograded" / student / assignment,
                self.root / "source" / assignment)

    def _source(self, gb, assignment: str) -> dict:
        """Per notebook of the assignment: its source, grade, solution and task cells, read once."""
        if assignment not in self._sources:
            a = gb.find_assignment(assignment)
            info = {}
            for nb in a.notebooks:
                cells = [SimpleNamespace(name=c.name, source=c.source, cell_type=c.cell_type, locked=c.locked,
                                         checksum=c.checksum) for c in nb.source_cells]
                grades = [SimpleNamespace(name=c.name, max_score=c.max_score, cell_type=c.cell_type)
                          for c in nb.grade_cells]
                info[nb.name] = {
                    "cells": {c.name: {"source": c.source, "cell_type": c.cell_type, "locked": c.locked}
                              for c in cells},
                    "grades": {c.name: {"max_score": c.max_score, "cell_type": c.cell_type} for c in grades},
                    "solutions": {c.name for c in nb.solution_cells},
                    "kernelspec": json.loads(nb.kernelspec) if nb.kernelspec else None,
                    "view": _SourceView(SimpleNamespace(
                        name=nb.name, source_cells=cells, grade_cells=grades,
                        solution_cells=[SimpleNamespace(name=c.name) for c in nb.solution_cells],
                        task_cells=[SimpleNamespace(name=c.name, max_score=c.max_score, cell_type=c.cell_type)
                                    for c in nb.task_cells])),
                }
            self._sources[assignment] = info
        return self._sources[assignment]

    def _submission(self, gb, assignment: str, student: str, timestamp) -> None:
        """nbgrader's ``update_or_create_submission``; a new submission's rows (a notebook per
        notebook, a grade and a comment per cell, as ``add_submission`` makes them) are inserted
        in one statement per table instead of an ORM object each."""
        from nbgrader import utils
        from nbgrader.api import Comment, Grade, MissingEntry, SubmittedAssignment, SubmittedNotebook, new_uuid
        from sqlalchemy import insert

        kwargs = {"timestamp": timestamp} if timestamp else {}
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            pass
        else:
            gb.update_or_create_submission(assignment, student, **kwargs)
            return
        shape = self._shape(gb, assignment)
        sub_id = new_uuid()
        notebooks, grades, comments = [], [], []
        for notebook_id, grade_cells, comment_cells in shape["notebooks"]:
            nb_id = new_uuid()
            notebooks.append({"id": nb_id, "assignment_id": sub_id, "notebook_id": notebook_id})
            grades += [{"notebook_id": nb_id, "cell_id": cell} for cell in grade_cells]
            comments += [{"notebook_id": nb_id, "cell_id": cell} for cell in comment_cells]
        db = gb.db
        try:
            db.execute(insert(SubmittedAssignment.__table__), [{
                "id": sub_id, "assignment_id": shape["assignment_id"], "student_id": student,
                "timestamp": utils.parse_utc(timestamp) if timestamp else None}])
            for table, rows in ((SubmittedNotebook, notebooks), (Grade, grades), (Comment, comments)):
                if rows:
                    db.execute(insert(table.__table__), rows)
            db.commit()
        except Exception:
            db.rollback()
            raise

    def _shape(self, gb, assignment: str) -> dict:
        """The assignment's id and, per notebook, the cells a submission gets grades and comments for."""
        if assignment not in self._shapes:
            a = gb.find_assignment(assignment)
            self._shapes[assignment] = {"assignment_id": a.id, "notebooks": [
                (nb.id, [c.id for c in nb.grade_cells] + [c.id for c in nb.task_cells],
                 [c.id for c in nb.solution_cells] + [c.id for c in nb.task_cells]) for nb in a.notebooks]}
        return self._shapes[assignment]

    def _support_files(self, assignment: str) -> dict[str, bytes]:
        if assignment in self._files:
            return self._files[assignment]
        src = self.root / "source" / assignment
        files = {}
        if src.is_dir():
            for p in src.rglob("*"):
                if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts \
                        and p.stat().st_size < 20 * 1024 * 1024:
                    files[str(p.relative_to(src))] = p.read_bytes()
        self._files[assignment] = files
        return files

    def _prepare(self, assignment: str, student: str, job: JobResult) -> dict:
        from nbgrader.coursedir import CourseDirectory

        submitted, autograded, source = self._paths(assignment, student)
        coursedir = CourseDirectory(config=self._config)
        timestamp = coursedir.get_existing_timestamp(str(submitted))
        prepared = {}
        gb = self.gradebook()
        try:
            gb.update_or_create_student(student)
            self._submission(gb, assignment, student, timestamp)
            info = self._source(gb, assignment)
            if autograded.exists():
                shutil.rmtree(autograded)
            autograded.mkdir(parents=True)
            for p in submitted.iterdir():
                if p.is_file() and p.suffix != ".ipynb":
                    shutil.copy2(p, autograded / p.name)
            for rel, data in self._support_files(assignment).items():
                dest = autograded / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            for name in info:
                path = submitted / f"{name}.ipynb"
                if not path.exists():
                    sub = gb.find_submission_notebook(name, assignment, student)
                    for grade in sub.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
                    gb.db.commit()
                    job.notebooks.append(NotebookResult(name=name, score=0.0, error=_message(
                        "Carnet non rendu : 0 point.", "Notebook not submitted: 0 points.")))
                    continue
                result = NotebookResult(name=name)
                job.notebooks.append(result)
                nb = self._read(path, result)
                if nb is None:
                    self._score_zero(gb, assignment, student, name)
                    prepared[name] = (None, None)
                    continue
                result.tampering += self._tampering(nb, info[name])
                try:
                    nb = self._sanitize(nb, assignment, student, name, info[name])
                except Exception as e:  # corrupted nbgrader metadata fails this notebook
                    result.error = _message("Les métadonnées nbgrader de {name}.ipynb sont corrompues : {e}",
                                            "The nbgrader metadata of {name}.ipynb are corrupted: {e}",
                                            name=name, e=str(e)[:300])
                    self._score_zero(gb, assignment, student, name)
                    prepared[name] = (None, None)
                    continue
                prepared[name] = (nb, self._cells(nb, info[name]))
            extra = sorted(p.stem for p in submitted.glob("*.ipynb") if p.stem not in info)
            for name in extra:
                log.info("skipping unknown notebook %s of %s", name, student)
        except Exception:
            gb.db.rollback()
            raise
        return prepared

    def _read(self, path: Path, result: NotebookResult):
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError("too large")
            text = path.read_bytes().decode("utf-8")
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            result.error = _message("{name}.ipynb n'est pas un carnet lisible (JSON invalide : {e}). Rouvrez-le "
                                    "dans JupyterLab et rendez-le à nouveau.",
                                    "{name}.ipynb is not a readable notebook (invalid JSON: {e}). Reopen it in "
                                    "JupyterLab and submit it again.", name=result.name, e=str(e)[:200])
            return None
        if not isinstance(raw, dict) or raw.get("nbformat") != 4:
            result.error = _message("{name}.ipynb est au format nbformat {v}, seul le format 4 est corrigé. Rouvrez-le "
                                    "dans JupyterLab, enregistrez-le et rendez-le à nouveau.",
                                    "{name}.ipynb is nbformat {v}; only format 4 is graded. Reopen it in "
                                    "JupyterLab, save it and submit it again.", name=result.name,
                                    v=raw.get("nbformat") if isinstance(raw, dict) else "?")
            return None
        try:
            # what nbformat.reads does, without parsing the text a second time nor validating twice
            nb = strip_transient(rejoin_lines(nbformat.from_dict(raw)))
            nbformat.validate(nb)
        except (ValidationError, Exception) as e:  # any schema problem fails this notebook
            result.error = _message("{name}.ipynb ne respecte pas le format des carnets : {e}",
                                    "{name}.ipynb does not follow the notebook format: {e}", name=result.name,
                                    e=str(e).splitlines()[0][:200])
            return None
        return nb

    def _score_zero(self, gb, assignment, student, name) -> None:
        sub = gb.find_submission_notebook(name, assignment, student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()

    @staticmethod
    def _tampering(nb, info: dict) -> list[str]:
        """What the pupil changed in cells they may not change (all of it is undone afterwards)."""
        found, seen = [], {}
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader", {})
            gid = md.get("grade_id")
            if not gid:
                continue
            if gid in seen:
                found.append(f"duplicate cell {gid}")
                continue
            seen[gid] = cell
            src = info["cells"].get(gid)
            if src is None:
                if md.get("grade") or md.get("locked"):
                    found.append(f"unknown graded or locked cell {gid}")
                continue
            locked = src["locked"] or (gid in info["grades"] and gid not in info["solutions"])
            if locked and _visible(cell.source) != _visible(src["source"]):
                found.append(f"changed cell {gid}")
            if cell.cell_type != src["cell_type"]:
                found.append(f"changed type of cell {gid}")
            if gid in info["grades"] and md.get("points") is not None \
                    and float(md.get("points")) != float(info["grades"][gid]["max_score"]):
                found.append(f"changed points of cell {gid}")
        for gid, src in info["cells"].items():
            protected = src["locked"] or (gid in info["grades"] and gid not in info["solutions"])
            if protected and gid not in seen:
                found.append(f"deleted cell {gid}")
        return found

    def _resources(self, assignment, student, name) -> dict:
        return {"nbgrader": {"notebook": name, "assignment": assignment, "student": student,
                             "db_url": self.db_url, "course_id": self.course_id},
                "metadata": {"path": str(self.root / "submitted" / student / assignment)}}

    def _sanitize(self, nb, assignment, student, name, info):
        """nbgrader's sanitizing steps, with the source read once per assignment, not per cell."""
        from nbgrader.preprocessors import ClearOutput, DeduplicateIds

        resources = self._resources(assignment, student, name)
        for pp in (ClearOutput, DeduplicateIds):
            nb, resources = pp(config=self._config)(nb, resources)
        if info["kernelspec"]:
            nb.metadata["kernelspec"] = info["kernelspec"]
        nb, resources = _CachedOverwriteCells(info["view"], config=self._config)(nb, resources)
        check_metadata(nb)
        return nb

    @staticmethod
    def _cells(nb, info: dict) -> list[dict]:
        """Each code cell with its kind, decided from the source notebook, never from the submission."""
        cells = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            src = info["cells"].get(gid) if gid else None
            kind = "pupil"
            if src is not None and cell.source == src["source"]:
                if gid in info["grades"] and gid not in info["solutions"]:
                    kind = "test"
                elif src["locked"]:
                    kind = "trusted"
            cells.append({"index": i, "kind": kind, "source": cell.source})
        return cells

    def _save(self, assignment, student, prepared: dict, executions: dict, job: JobResult) -> None:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import IgnorePattern, LimitOutput

        submitted, autograded, _ = self._paths(assignment, student)
        by_name = {n.name: n for n in job.notebooks}
        gb = self.gradebook()
        try:
            for name, (nb, cells) in prepared.items():
                result = by_name[name]
                if nb is None:
                    continue
                ex, seconds = executions[name]
                result.seconds = seconds
                job.sandbox = job.sandbox or {k: v for k, v in ex.sandbox.items() if k != "type"}
                self._apply(nb, cells, ex, result)
                resources = self._resources(assignment, student, name)
                for pp in (IgnorePattern, ClearMetadataPreprocessor, LimitOutput):
                    nb, resources = pp(config=self._config)(nb, resources)
                self._save_grades(gb, nb, assignment, student, name)
                # no indent: json's C encoder, several times faster than the indented pure-Python one
                (autograded / f"{name}.ipynb").write_text(
                    json.dumps(nb, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
            gb.db.commit()
            for result in job.notebooks:
                try:
                    sub = gb.find_submission_notebook(result.name, assignment, student)
                    result.score, result.max_score = sub.score, sub.max_score
                except Exception:  # a notebook not in the gradebook has no score
                    pass
        except Exception:
            gb.db.rollback()
            raise

    def _save_grades(self, gb, nb, assignment, student, name) -> None:
        """What ``SaveAutoGrades`` and ``AssignLatePenalties`` do, in one transaction."""
        from nbgrader import utils
        from nbgrader.api import BaseCell, Comment, Grade

        sub_nb = gb.find_submission_notebook(name, assignment, student)
        # one query each with the cell names (``Grade.name`` is a proxy loading each cell apart)
        grades = {cell_name: g for g, cell_name in gb.db.query(Grade, BaseCell.name)
                  .join(BaseCell, Grade.cell_id == BaseCell.id).filter(Grade.notebook_id == sub_nb.id)}
        comments = {cell_name: c for c, cell_name in gb.db.query(Comment, BaseCell.name)
                    .join(BaseCell, Comment.cell_id == BaseCell.id).filter(Comment.notebook_id == sub_nb.id)}
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell) and gid in grades:
                grade = grades[gid]
                grade.auto_score, _ = utils.determine_grade(cell, None)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            if (utils.is_solution(cell) or utils.is_task(cell)) and gid in comments:
                unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                comments[gid].auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
        gb.db.flush()
        gb.db.expire(sub_nb)
        sub_nb.late_submission_penalty = None
        exchange_penalty = penalty_percent(self.root, student, assignment)
        if exchange_penalty is not None:
            # collected through the exchange: its percentage is the course's policy
            sub_nb.late_submission_penalty = late_penalty(sub_nb.score, exchange_penalty[0])
            return
        seconds_late = sub_nb.assignment.total_seconds_late
        if seconds_late > 0:
            penalty = self._late_plugin().late_submission_penalty(student, sub_nb.score, seconds_late)
            if penalty is not None:
                sub_nb.late_submission_penalty = min(max(penalty, 0), sub_nb.score)

    def _late_plugin(self):
        from nbgrader.preprocessors import AssignLatePenalties

        pp = AssignLatePenalties(config=self._config)
        pp.init_plugin()
        return pp.plugin_inst

    @staticmethod
    def _apply(nb, cells: list[dict], ex: Execution, result: NotebookResult) -> None:
        """The executed outputs into the notebook; a cell that did not run scores as an error."""
        result.tampering += ex.tampering
        result.stopped = ex.stopped
        if ex.error:
            result.error = ex.error
        died = not ex.completed
        reason = {"timeout": _message("temps dépassé", "time limit reached")}.get(
            ex.stopped or "", _message("le noyau s'est arrêté ({status})", "the kernel stopped ({status})",
                                       status=ex.status or ex.error or "?"))
        for c in cells:
            cell = nb.cells[c["index"]]
            got = ex.cells.get(c["index"])
            if got is not None:
                cell.outputs = [nbformat.from_dict(o) for o in got["outputs"]]
                cell.execution_count = got.get("execution_count")
            elif died:
                cell.outputs = [nbformat.from_dict({"output_type": "error", "ename": "NotExecuted",
                                                    "evalue": reason, "traceback": [reason]})]
        if died and not result.error:
            result.error = reason

    def _write_report(self, job: JobResult) -> None:
        path = self.root / "autograded" / job.student / job.assignment
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / REPORT_NAME).write_text(json.dumps(job.as_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError:
            log.warning("cannot write the grading report of %s", job.student)


def _write_ahead_log(engine) -> None:
    """A SQLite gradebook in write-ahead-log mode, synchronised at checkpoints rather than at
    every commit: a batch commits two or three times per submission under the gradebook lock,
    and each commit of the default rollback journal waits for the disk. A power cut may lose
    the last commits (regraded by running the batch again), never the file's consistency; the
    formgrader and nbgrader read a WAL database as any other."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # the connection nbgrader opened is replaced by one with the setting
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    except OperationalError as e:  # another process is writing: keep the rollback journal
        log.info("gradebook journal mode unchanged: %s", e)


def _visible(source: str) -> str:
    """A cell's text as released: hidden tests cut, trailing spaces ignored."""
    from cartable.grading.feedback import strip_hidden

    text, _ = strip_hidden(source)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


class _SourceView:
    """The few gradebook look-ups ``OverwriteCells`` makes, answered from the assignment's cache."""

    def __init__(self, notebook):
        self.notebook = notebook
        self.cells = {c.name: c for c in notebook.source_cells}
        self.grades = {c.name: c for c in notebook.grade_cells}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def find_notebook(self, notebook_id, assignment_id):
        return self.notebook

    def find_source_cell(self, name, notebook_id, assignment_id):
        from nbgrader.api import MissingEntry

        if name not in self.cells:
            raise MissingEntry()
        return self.cells[name]

    def find_graded_cell(self, name, notebook_id, assignment_id):
        from nbgrader.api import MissingEntry

        if name not in self.grades:
            raise MissingEntry()
        return self.grades[name]


def _cached_overwrite_cells():
    from nbgrader.preprocessors import OverwriteCells

    class CachedOverwriteCells(OverwriteCells):
        def __init__(self, view, **kw):
            super().__init__(**kw)
            self.view = view

        def preprocess(self, nb, resources):
            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.gradebook = self.view
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
            return nb, resources

    return CachedOverwriteCells


def _CachedOverwriteCells(view, **kw):  # a class built on first use (nbgrader imports lazily)
    global _OVERWRITE
    if _OVERWRITE is None:
        _OVERWRITE = _cached_overwrite_cells()
    return _OVERWRITE(view, **kw)


_OVERWRITE = None
_VALIDATOR = None


def check_metadata(nb) -> None:
    """``CheckCellMetadata`` with its JSON schema compiled once (nbgrader re-checks the schema per cell)."""
    global _VALIDATOR
    import fastjsonschema
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    if _VALIDATOR is None:
        mv = MetadataValidator()
        _VALIDATOR = (mv, jsonschema.validators.validator_for(mv.schema)(mv.schema), fastjsonschema.compile(mv.schema))
    mv, validator, fast = _VALIDATOR
    ids = set()
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader")
        if md is None:
            continue
        if md.get("schema_version", 0) != mv.schema_version:
            raise ValidationError(f"schema version {md.get('schema_version', 0)} (expected {mv.schema_version})")
        try:
            fast(md)
        except fastjsonschema.JsonSchemaException:
            raise ValidationError(jsonschema.exceptions.best_match(validator.iter_errors(md)).message) from None
        if md.get("grade") or md.get("solution") or md.get("locked") or md.get("task"):
            gid = md.get("grade_id")
            if gid in ids:
                raise ValidationError(f"duplicate grade id {gid}")
            ids.add(gid)


class RemoteSandbox:
    """The execution phase in the exchange service's sandbox (root there), for a teacher's server.

    Same interface as :class:`~.forkserver.ForkServer`; the Hub token of the server proves who
    asks, and the service checks that they teach ``course``.
    """

    def __init__(self, base_url: str, token: str, course: str):
        from cartable.grading.exchange.client import ExchangeClient

        self.client, self.course = ExchangeClient(base_url, token), course

    @classmethod
    def from_environment(cls, course: str):
        url, token = os.environ.get("CARTABLE_EXCHANGE_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
        return cls(url, token, course) if url and token else None

    def start(self):
        return self

    def stop(self) -> None:
        pass

    def run_many(self, notebooks, limits, files=None, hidden=None) -> dict[str, Execution]:
        return {name: self.run(cells, limits, files, hidden) for name, cells in notebooks}

    def run(self, cells, limits, files=None, hidden=None) -> Execution:
        import base64

        from cartable.grading.exchange.client import ExchangeRefusal

        body = {"course_id": self.course, "cells": cells, "limits": limits,
                "files": {k: base64.b64encode(v).decode() for k, v in (files or {}).items()}}
        try:
            d = self.client.sandbox(body, timeout=limits.get("notebook_seconds", 120) + 60)
        except ExchangeRefusal as e:
            if e.status is None and e.__cause__ is not None:  # the service could not be reached
                return Execution(error=f"{type(e.__cause__).__name__}: {e.__cause__}")
            return Execution(error=f"HTTP {e.status}: {e.message}")
        ex = Execution(**{k: v for k, v in d.items() if k in Execution.__dataclass_fields__ and k != "cells"})
        ex.cells = {int(k): v for k, v in d.get("cells", {}).items()}
        return ex


def sandbox_state() -> str:
    return "on" if isolation_available() else "off"


def grade_with_celery(course_dir, course_id: str, db_url: str | None, assignment: str, students: list[str],
                      limits: Limits | None = None, progress: Callable[[JobResult], None] | None = None,
                      timeout: float = 3600) -> list[JobResult]:
    """Send one task per submission to the Celery workers and gather the results as they come."""
    from celery.result import ResultSet

    from cartable.grading.tasks import grade_submission

    lim = (limits or Limits()).as_dict()
    pending = [grade_submission.delay(str(Path(course_dir).resolve()), course_id, db_url, assignment, s, lim)
               for s in students]
    results: list[JobResult] = []

    def collect(task_id, value):
        nbs = [NotebookResult(**{k: v for k, v in n.items() if k in NotebookResult.__dataclass_fields__})
               for n in value.pop("notebooks", [])]
        job = JobResult(**{k: v for k, v in value.items() if k in JobResult.__dataclass_fields__}, notebooks=nbs)
        results.append(job)
        if progress:
            progress(job)

    ResultSet(pending).join(timeout=timeout, callback=collect, propagate=True)
    return results
