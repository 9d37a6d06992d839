"""Run stock nbgrader on one course assignment in a throw-away course directory.

    python nbgrader_run.py <work dir> <source notebook> [<source notebook> ...]

Generates the release version (``nbgrader generate_assignment``), then autogrades two
submissions: the instructor's source notebook (student ``prof``) and the untouched release
(student ``vide``). Prints one JSON line per assignment: per student, the score and the grades
per cell. Each assignment gets its own course directory and gradebook under the work dir; the
tests run a few of these processes in parallel, each over a share of the assignments.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config import Config

COURSES = Path(__file__).resolve().parents[3] / "courses"


def config_for(root: Path) -> Config:
    c = Config()
    # the course library's own settings (French stubs…), then the throw-away course root
    cfg_file = COURSES / "nbgrader_config.py"
    if cfg_file.exists():
        ns = {"get_config": lambda: c, "c": c}
        exec(compile(cfg_file.read_text(encoding="utf-8"), str(cfg_file), "exec"), ns)
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "cartable-tests"
    c.Execute.timeout = 120
    # Unix-socket kernels: no TCP port races when many kernels start at once
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(root / "kernel")
    return c


def run(source: Path, work: Path) -> dict:
    aid = source.stem
    work.mkdir(parents=True, exist_ok=True)
    (work / "source" / aid).mkdir(parents=True, exist_ok=True)
    shutil.copy(source, work / "source" / aid / source.name)
    api = NbGraderAPI(config=config_for(work))
    out = {"assignment": aid, "release": str(work / "release" / aid)}

    gen = api.generate_assignment(aid, force=True, create=True)
    if not gen["success"]:
        out["error"] = "generate_assignment failed:\n" + gen["log"] + gen.get("error", "")
        return out
    released = work / "release" / aid / source.name
    for student, nb in (("prof", source), ("vide", released)):
        dest = work / "submitted" / student / aid
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, dest / source.name)
        res = api.autograde(aid, student, force=True, create=True)
        if not res["success"]:
            out["error"] = f"autograde {student} failed:\n" + res["log"] + res.get("error", "")
            return out
    with api.gradebook as gb:
        for student in ("prof", "vide"):
            sub = gb.find_submission(aid, student)
            grades = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    grades[g.name] = {"auto": g.auto_score, "manual": g.manual_score,
                                      "max": g.max_score, "cell_type": g.cell_type,
                                      "needs_manual_grade": g.needs_manual_grade}
            out[student] = {"score": sub.score, "max_score": sub.max_score, "grades": grades}
    return out


if __name__ == "__main__":
    base = Path(sys.argv[1]).resolve()
    for arg in sys.argv[2:]:
        source = Path(arg).resolve()
        try:
            result = run(source, base / source.stem)
        except Exception as exc:  # reported by the test for this assignment
            result = {"assignment": source.stem, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
