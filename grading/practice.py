"""Practice mode: an assignment graded the moment a pupil submits it, feedback within seconds.

A teacher releases an assignment with ``cartable course release … --practice``: besides the
pupil version, the *source* (solutions and hidden tests) goes to the exchange service, which
keeps it in a folder only the service can read (``<exchange>/practice/<course>/<assignment>``:
an nbgrader course of its own, with its own gradebook). Every submission of that assignment
is then graded by the same engine as the teacher's batches (:mod:`.autograde`, sandboxed; the
service runs as root, so each submission gets its own account and no network), and the
feedback (hidden tests removed, :mod:`.feedback`) is stored for the pupil like the feedback a
teacher returns: the pupil's panel and ``nbgrader fetch_feedback`` find it. The result of each
grading is ``practice/<course>/<assignment>/results/<submission id>.json``.

Practice scores stay in the practice gradebook: the teacher's own gradebook, and the marks
exported from it, only hold what the teacher collected and graded.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

log = logging.getLogger("cartable.practice")


class Practice:
    """The practice assignments of one exchange, and the grader that serves them."""

    def __init__(self, root: Path, hidden: list[str] = (), max_limits: dict | None = None):
        self.root = Path(root)
        self.hidden, self.max_limits = list(hidden), max_limits
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self._graders: dict[tuple[str, str], object] = {}
        self._forkserver = None
        self._lock = threading.Lock()

    def folder(self, course: str, assignment: str) -> Path:
        return self.root / course / assignment

    def enabled(self, course: str, assignment: str) -> bool:
        return (self.folder(course, assignment) / "gradebook.db").exists()

    # -- teacher: set up and withdraw -------------------------------------------------------
    def setup(self, course: str, assignment: str, files: dict[str, bytes]) -> None:
        """Install the source files of ``assignment`` and build its gradebook (generate_assignment)."""
        d = self.folder(course, assignment)
        tmp = d.with_name(d.name + ".new")
        shutil.rmtree(tmp, ignore_errors=True)
        src = tmp / "source" / assignment
        src.mkdir(parents=True)
        for rel, data in files.items():
            dest = (src / rel).resolve()
            if not str(dest).startswith(str(src.resolve()) + os.sep):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        lib = Path(__file__).resolve().parents[1] / "courses" / "nbgrader_config.py"
        (tmp / "nbgrader_config.py").write_text(
            "c = get_config()\n" + (lib.read_text(encoding="utf-8") if lib.exists() else "")
            + f"\nc.CourseDirectory.course_id = {course!r}\n", encoding="utf-8")
        env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
        r = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                            "--create"], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError((r.stdout + r.stderr)[-2000:])
        with self._lock:
            self._graders.pop((course, assignment), None)
            old = d.with_name(d.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if d.exists():
                d.rename(old)
            tmp.rename(d)
            shutil.rmtree(old, ignore_errors=True)

    def withdraw(self, course: str, assignment: str) -> None:
        with self._lock:
            self._graders.pop((course, assignment), None)
            shutil.rmtree(self.folder(course, assignment), ignore_errors=True)

    # -- on submit ------------------------------------------------------------------------
    def forkserver(self):
        """The service's fork server (root: full sandbox), shared by practice and teachers' batches."""
        from cartable.grading.forkserver import ForkServer

        with self._lock:
            if self._forkserver is None:
                self._forkserver = ForkServer().start()
            return self._forkserver

    def _grader(self, course: str, assignment: str):
        from cartable.grading.autograde import Autograder

        fs = self.forkserver()
        with self._lock:
            self._forkserver = fs
            key = (course, assignment)
            if key not in self._graders:
                self._graders[key] = Autograder(self.folder(course, assignment), course, workers=1,
                                                forkserver=fs, hidden=self.hidden, max_limits=self.max_limits)
            return self._graders[key]

    def result_path(self, course: str, assignment: str, submission_id: str) -> Path:
        return self.folder(course, assignment) / "results" / f"{submission_id}.json"

    def result(self, course: str, assignment: str, submission_id: str) -> dict | None:
        p = self.result_path(course, assignment, submission_id)
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def grade(self, course: str, assignment: str, submission_id: str, student: str, archive: bytes,
              received_at: str, store_feedback) -> dict:
        """Grade one submission (``archive``: its tar.gz); ``store_feedback(notebook, html)`` keeps each page."""
        out = self.result_path(course, assignment, submission_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"status": "grading"}), encoding="utf-8")
        try:
            grader = self._grader(course, assignment)
            sub = grader.root / "submitted" / student / assignment
            shutil.rmtree(sub, ignore_errors=True)
            sub.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
                for m in tar.getmembers():
                    name = m.name.split("/", 1)[-1] if "/" in m.name else m.name
                    if not m.isfile() or not name.endswith(".ipynb") or "/" in name:
                        continue
                    (sub / name).write_bytes(tar.extractfile(m).read())
            (sub / "timestamp.txt").write_text(received_at.replace("T", " ")[:26])
            job = grader.grade_one(assignment, student)
            pages = []
            for nb in job.notebooks:
                path = grader.root / "autograded" / student / assignment / f"{nb.name}.ipynb"
                if path.exists():
                    html = render_feedback(path, nb.score, nb.max_score)
                    pages.append({"notebook": nb.name, "feedback_id": store_feedback(nb.name, html)})
            result = {"status": "graded" if not job.error else "failed", "score": job.score,
                      "max_score": sum(n.max_score or 0 for n in job.notebooks),
                      "notebooks": [{"name": n.name, "score": n.score, "max_score": n.max_score, "error": n.error}
                                    for n in job.notebooks], "feedback": pages, "error": job.error,
                      "seconds": round(job.seconds, 3)}
        except Exception as e:  # a practice grading failure is reported, never raised at the pupil
            log.exception("practice grading of %s failed", submission_id)
            result = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return result

    def close(self) -> None:
        if self._forkserver is not None:
            self._forkserver.stop()
            self._forkserver = None


def render_feedback(path: Path, score, max_score, language: str = "fr") -> str:
    """The autograded notebook as a feedback page: hidden tests and their details removed."""
    import nbformat
    from nbconvert import HTMLExporter

    from cartable.core.i18n import _, gettext_for
    from cartable.grading.feedback import HideHiddenTests

    nb = nbformat.read(path, 4)
    nb, _res = HideHiddenTests(language=language).preprocess(nb, {})
    t = gettext_for(language)
    title = t(_("Practice feedback: {score} / {max} points")).format(score=f"{score or 0:g}",
                                                                     max=f"{max_score or 0:g}")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"## {title}"))
    exporter = HTMLExporter(template_name="lab")
    body, _res = exporter.from_notebook_node(nb)
    return body
