"""Build a course folder with collected submissions: for the grading tests and benchmark.

``make_course(root, sources, pupils)`` makes an nbgrader course folder whose assignment is
made of the given source notebooks (from ``courses/``), generates the released version
with stock nbgrader, and writes one submission per pupil: the released notebook with each
answer cell filled with the instructor's solution or left as released, pupil by pupil
(deterministically from the pupil's rank), so the batch has a spread of scores.
``variant`` lets a test replace one pupil's notebook by a crafted one.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import nbformat

ASSIGNMENT = "devoir"


def nbgrader_config(root: Path, course_id: str, library_config: Path | None):
    from traitlets.config import Config

    c = Config()
    if library_config and library_config.exists():
        ns = {"get_config": lambda: c, "c": c}
        exec(compile(library_config.read_text(encoding="utf-8"), str(library_config), "exec"), ns)
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = course_id
    c.Execute.timeout = 120
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(root / "kernel")
    return c


def make_course(root: Path, sources: list[Path], pupils: int, course_id: str = "bench-course",
                assignment: str = ASSIGNMENT, seed: int = 7) -> dict:
    from nbgrader.apps import NbGraderAPI

    from cartable.grading.courses import venv_on_path

    venv_on_path()
    root.mkdir(parents=True, exist_ok=True)
    src_dir = root / "source" / assignment
    src_dir.mkdir(parents=True, exist_ok=True)
    for s in sources:
        shutil.copy(s, src_dir / s.name)
    library_config = Path(sources[0]).resolve().parents[2] / "nbgrader_config.py"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        + (library_config.read_text(encoding="utf-8") if library_config.exists() else "")
        + f"\nc.CourseDirectory.course_id = {course_id!r}\n", encoding="utf-8")
    api = NbGraderAPI(config=nbgrader_config(root, course_id, library_config))
    gen = api.generate_assignment(assignment, force=True, create=True)
    if not gen["success"]:
        raise RuntimeError("generate_assignment failed:\n" + gen["log"] + gen.get("error", ""))
    names = [f"eleve{i:03d}" for i in range(pupils)]
    rng = random.Random(seed)
    for rank, name in enumerate(names):
        share = [1.0, 0.0, 0.5, 0.8, 0.3][rank % 5]
        write_submission(root, assignment, name, lambda gid: rng.random() < share)
    return {"root": root, "course_id": course_id, "assignment": assignment, "pupils": names,
            "notebooks": [s.stem for s in sources], "api": api}


def write_submission(root: Path, assignment: str, student: str, answer, timestamp: str = "2026-11-20 10:00:00"):
    """The released notebooks with the solution in every answer cell for which ``answer(grade_id)``."""
    dest = root / "submitted" / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    for released in sorted((root / "release" / assignment).glob("*.ipynb")):
        source = nbformat.read(root / "source" / assignment / released.name, 4)
        solutions = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells}
        nb = nbformat.read(released, 4)
        for cell in nb.cells:
            md = cell.metadata.get("nbgrader", {})
            if md.get("solution") and answer(md.get("grade_id")):
                cell.source = _strip_markers(solutions.get(md["grade_id"], cell.source))
        nbformat.write(nb, dest / released.name)
    (dest / "timestamp.txt").write_text(timestamp)
    return dest


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def stock_scores(api, assignment: str, students: list[str]) -> dict:
    """``{student: {notebook: score}}`` from the gradebook stock nbgrader wrote."""
    return scores(api.coursedir.db_url, api.coursedir.course_id, assignment, students)


def scores(db_url: str, course_id: str, assignment: str, students: list[str]) -> dict:
    """``{student: {notebook: score}}`` from a gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(db_url, course_id) as gb:
        for s in students:
            try:
                sub = gb.find_submission(assignment, s)
            except Exception:  # not graded
                continue
            out[s] = {nb.name: round(nb.score, 6) for nb in sub.notebooks}
    return out


# -- a small exercise set (three answers, hidden tests) and answers to it ----------------------

def nbgrader_md(gid, **kw):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, "task": False, **kw}}


def mini_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [
        ("code", "imports", "import math\nimport numpy as np\nfrom cartable.grading import check", {"locked": True}),
        ("code", "s1", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
         {"solution": True}),
        ("code", "t1", "assert double(2) == 4\nassert abs(double(1.5) - 3) < 1e-9\n### BEGIN HIDDEN TESTS\n"
                       "assert double(10) == 20\n### END HIDDEN TESTS", {"grade": True, "locked": True, "points": 1}),
        ("code", "s2", "### BEGIN SOLUTION\nr = 0.75\n### END SOLUTION", {"solution": True}),
        ("code", "t2", "check.numeric(r, name='r')\n### BEGIN HIDDEN TESTS\ncheck.expect_close(r, 0.75, rel=1e-6)\n"
                       "assert math.isclose(r, 0.75)\nnp.testing.assert_allclose(r, 0.75)\n### END HIDDEN TESTS",
         {"grade": True, "locked": True, "points": 1}),
        ("code", "s3", "def carre(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
         {"solution": True}),
        ("code", "t3", "np.testing.assert_allclose(carre(np.arange(3)), [0, 1, 4])\n"
                       "assert type(carre(3)) == int and carre(3) == 9", {"grade": True, "locked": True, "points": 2}),
    ]
    for kind, gid, src, md in cells:
        cell = nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
        cell.metadata.update(nbgrader_md(gid, **md))
        nb.cells.append(cell)
    return nb


WRONG = {"s1": "def double(x):\n    return x + 1", "s2": "r = 0.5", "s3": "def carre(x):\n    return x + x"}
RIGHT = {"s1": "def double(x):\n    return 2 * x", "s2": "r = 0.75", "s3": "def carre(x):\n    return x * x"}


def cell_of(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def set_answers(nb, answers):
    for gid, src in answers.items():
        cell_of(nb, gid).source = src


HONEST = {"honest_right": (RIGHT, 4), "honest_wrong": (WRONG, 0),
          "honest_half": ({"s1": RIGHT["s1"], "s2": WRONG["s2"], "s3": RIGHT["s3"]}, 3)}
