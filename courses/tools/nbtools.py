"""Small helpers to write Cartable course notebooks with nbformat.

Lessons are plain notebooks meant for Voilà (code cells hidden, widgets shown); exercise sets
and exams are nbgrader *source* notebooks: ``answer`` cells hold the solution between
``### BEGIN SOLUTION`` / ``### END SOLUTION``, ``tests`` cells hold a public form check
followed by hidden exact checks between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``,
``written`` cells are Markdown answers graded by the teacher.
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def rtl(text: str, lang: str = "ar") -> str:
    """Wrap Markdown in a right-to-left block (blank lines keep Markdown parsing inside)."""
    return f'<div dir="rtl" lang="{lang}">\n\n{_clean(text)}\n\n</div>'


# --------------------------------------------------------------------------- lessons

def md(text: str, lang: str = "fr"):
    source = rtl(text, lang) if lang == "ar" else _clean(text)
    return new_markdown_cell(source)


def code(source: str, hidden: bool = True):
    cell = new_code_cell(_clean(source))
    if hidden:  # folded in JupyterLab; Voilà never shows code
        cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def notebook(cells, *, lang: str, cartable: dict):
    nb = new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives the same files
        cell["id"] = f"c{i:02d}"
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    nb.metadata["cartable"] = dict(cartable, lang=lang)
    return nb


# --------------------------------------------------------------------------- nbgrader cells

def _nbg(cell, grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def given(grade_id: str, text: str, lang: str = "fr"):
    """A read-only Markdown cell (statement): locked so autograding restores it."""
    return _nbg(md(text, lang), grade_id, locked=True)


def given_code(grade_id: str, source: str):
    """Read-only code (imports, data given to the pupil)."""
    return _nbg(code(source, hidden=False), grade_id, locked=True)


def answer(grade_id: str, solution: str, prompt: str = ""):
    """A code cell the pupil fills in; ``prompt`` (comments) stays, ``solution`` is removed."""
    src = (_clean(prompt) + "\n" if prompt else "") + \
        "### BEGIN SOLUTION\n" + _clean(solution) + "\n### END SOLUTION"
    return _nbg(code(src, hidden=False), grade_id, solution=True)


def tests(grade_id: str, points: float, public: str, hidden: str):
    """Autograded test cell: public form checks, then hidden exact checks."""
    src = _clean(public) + "\n### BEGIN HIDDEN TESTS\n" + _clean(hidden) + \
        "\n### END HIDDEN TESTS"
    return _nbg(code(src, hidden=False), grade_id, grade=True, locked=True, points=points)


def written(grade_id: str, points: float, model: str, lang: str = "fr"):
    """Manually graded Markdown answer; the model answer (with its barème) is the solution."""
    body = "### BEGIN SOLUTION\n" + _clean(model) + "\n### END SOLUTION"
    source = rtl(body, lang) if lang == "ar" else body
    return _nbg(new_markdown_cell(source), grade_id, grade=True, solution=True, points=points)


def write(nb, path) -> None:
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
