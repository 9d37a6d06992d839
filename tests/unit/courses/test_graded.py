"""Exercise sets and mock exams, through stock nbgrader.

For each assignment: the instructor's version autogrades to full marks, the released
version to zero, and the released version leaks nothing (solutions, hidden tests, expected
values, outputs, checkpoints).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

COURSES = Path(__file__).resolve().parents[3] / "courses"
GRADED = sorted([*(COURSES / "exercises").glob("*/*.ipynb"),
                 *(COURSES / "exams").glob("*/*.ipynb")])
IDS = [p.stem for p in GRADED]

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def _nbg(cell):
    return cell.metadata.get("nbgrader", {})


def _result(graded_runs, aid):
    result = graded_runs[aid]
    assert "error" not in result, result["error"]
    return result


def _expected_values(source_nb):
    """Constants given as expected values to ``check.expect_*`` in hidden tests."""
    values = []
    for cell in source_nb.cells:
        for block in HIDDEN.findall(cell.source):
            for node in ast.walk(ast.parse(block)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr.startswith("expect_") and len(node.args) >= 2):
                    arg = node.args[1]
                    if isinstance(arg, ast.UnaryOp) and isinstance(arg.operand, ast.Constant):
                        values.append(-arg.operand.value)
                    elif isinstance(arg, ast.Constant):
                        values.append(arg.value)
    return values


@pytest.mark.parametrize("path", GRADED, ids=IDS)
def test_instructor_version_gets_full_marks(graded_runs, path):
    prof = _result(graded_runs, path.stem)["prof"]
    auto = {k: g for k, g in prof["grades"].items() if g["cell_type"] == "code"}
    manual = {k: g for k, g in prof["grades"].items() if g["cell_type"] == "markdown"}
    assert auto, "no autograded question"
    assert manual, "no manually graded question (justification)"
    for name, g in auto.items():
        assert g["auto"] == g["max"], f"{name}: {g['auto']} / {g['max']}"
    for name, g in manual.items():
        assert g["needs_manual_grade"], f"{name} should wait for the teacher"
    assert prof["max_score"] == pytest.approx(
        json.loads(path.read_text())["metadata"]["cartable"]["bareme_total"])


@pytest.mark.parametrize("path", GRADED, ids=IDS)
def test_released_version_scores_zero(graded_runs, path):
    vide = _result(graded_runs, path.stem)["vide"]
    assert vide["score"] == 0
    for name, g in vide["grades"].items():
        assert (g["auto"] or 0) == 0 and (g["manual"] or 0) == 0, name


@pytest.mark.parametrize("path", GRADED, ids=IDS)
def test_released_version_leaks_nothing(graded_runs, path):
    release_dir = Path(_result(graded_runs, path.stem)["release"])
    files = sorted(p.relative_to(release_dir).as_posix() for p in release_dir.rglob("*"))
    assert files == [path.name], f"unexpected files in the release: {files}"
    raw = (release_dir / path.name).read_text(encoding="utf-8")
    released = nbformat.reads(raw, as_version=4)
    source = nbformat.read(path, as_version=4)

    for marker in MARKERS:
        assert marker not in raw, marker

    # every line of a solution or hidden test that is not also in the public text
    public = "\n".join(HIDDEN.sub("", SOLUTION.sub("", c.source)) for c in source.cells)
    secret_lines = {line.strip()
                    for c in source.cells
                    for block in SOLUTION.findall(c.source) + HIDDEN.findall(c.source)
                    for line in block.splitlines()
                    if len(line.strip()) >= 6 and line.strip() not in public}
    released_text = "\n".join(c.source for c in released.cells)
    leaked = sorted(line for line in secret_lines if line in released_text)
    assert not leaked, leaked

    # expected values: never in a released code cell, nor (when distinctive) anywhere
    code_constants = set()
    for cell in released.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source.replace("raise NotImplementedError()",
                                                               "pass"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                    code_constants.add(float(node.value))
    for value in _expected_values(source):
        if isinstance(value, str):
            continue  # multiple-choice letters: covered by the hidden-test check above
        if float(value) not in (0.0, 1.0):
            assert float(value) not in code_constants, f"expected value {value!r} in code"
        if len(repr(value)) >= 6:
            assert repr(value) not in raw, f"expected value {value!r} in the release"

    for cell in released.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs released"
        if _nbg(cell).get("solution"):
            assert "NotImplementedError" in cell.source or "VOTRE RÉPONSE ICI" in cell.source


@pytest.mark.parametrize("path", GRADED, ids=IDS)
def test_source_notebook_is_clean_and_well_formed(path):
    """Committed sources: no outputs, no checkpoints, every question has hidden tests,
    expected values only inside hidden tests, barème consistent with the metadata."""
    assert not list(path.parent.rglob(".ipynb_checkpoints"))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    meta = nb.metadata["cartable"]
    points = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        m = _nbg(cell)
        public = HIDDEN.sub("", cell.source)
        assert "expect_" not in public, f"{m.get('grade_id')}: exact check outside hidden tests"
        if m.get("grade"):
            points[m["grade_id"]] = m["points"]
            if cell.cell_type == "code":
                assert HIDDEN.search(cell.source), f"{m['grade_id']}: no hidden test"
                assert "check." in public, f"{m['grade_id']}: no public form check"
            else:
                assert m.get("solution") and SOLUTION.search(cell.source)
        elif m.get("solution"):
            assert SOLUTION.search(cell.source), f"{m['grade_id']}: no solution markers"
    assert {b["grade_id"]: b["points"] for b in meta["bareme"]} == points
    assert sum(points.values()) == pytest.approx(meta["bareme_total"])
    # bac-style barème: quarter points
    assert all((p * 4) == int(p * 4) for p in points.values())
    if meta["kind"] == "exam":
        assert meta["bareme_total"] == 20 and meta["timed"] is True
        assert sum(s["points"] for s in meta["structure"]) == 20
        assert meta["duration_minutes"] > 0 and meta["coefficient"]
