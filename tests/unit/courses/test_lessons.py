"""Lessons: they execute (nbclient), render through a real Voilà server, and Arabic ones are
laid out right-to-left with formulas and code left-to-right."""

from __future__ import annotations

import html as html_module
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest

COURSES = Path(__file__).resolve().parents[3] / "courses"
LESSONS = sorted((COURSES / "lessons").glob("*.ipynb"))
AR_LESSONS = [p for p in LESSONS if p.name.endswith(".ar.ipynb")]
IDS = [p.name.removesuffix(".ipynb") for p in LESSONS]
WIDGET = "application/vnd.jupyter.widget-view+json"
ARABIC = re.compile(r"[\u0600-\u06FF]")
RTL_OPEN = '<div dir="rtl" lang="ar">'


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_source_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert headings and "# " in headings[0], "a title first"
    text = "\n".join(headings)
    if path.name.endswith(".ar.ipynb"):
        assert "مثال محلول" in text and "جرّب بنفسك" in text
    else:
        assert "Exemple résolu" in text or "Exemples résolus" in text
        assert "À vous de manipuler" in text
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "widgets need code"
    for c in code:
        assert c.outputs == [] and c.execution_count is None, "no outputs in sources"
        assert c.metadata.get("jupyter", {}).get("source_hidden"), "code folded for pupils"
    assert any("W.interact" in c.source for c in code), "at least one interactive widget"
    assert "nbgrader" not in str(nb.metadata) and nb.metadata["cartable"]["kind"] == "lesson"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_executes(executed_lessons, path):
    nb, error = executed_lessons[path]
    assert error is None, f"{type(error).__name__}: {error}"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], \
        "warnings on stderr"
    assert sum(WIDGET in o.get("data", {}) for o in outputs) >= 1, "no widget displayed"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_renders_in_voila(voila_pages, path):
    status, html = voila_pages[path]
    assert status == 200
    shown = html.find("application/vnd.jupyter.stderr")
    assert shown < 0, "an error or warning is shown:\n" + unescape(re.sub(r"<[^>]+>", "", html[shown:shown + 6000]))
    assert "Traceback" not in html
    # the executed widget outputs are embedded in the page as JSON (model ids)
    assert re.search(re.escape(f'"{WIDGET}": {{"model_id": "') + "[0-9a-f]{32}", html), \
        "no widget view in the page"
    nb = nbformat.read(path, as_version=4)
    title = re.search(r"^# (.+)$", nb.cells[0].source, re.M).group(1).strip()
    assert title in html_module.unescape(html)
    assert "source_hidden" not in html and "W.interact(" not in html, "code shown to pupils"
    if path in AR_LESSONS:
        assert 'dir="rtl"' in html


def test_enough_arabic_lessons():
    assert len(AR_LESSONS) >= 4
    for ar in AR_LESSONS:
        assert (ar.parent / ar.name.replace(".ar.ipynb", ".ipynb")).exists()


@pytest.mark.parametrize("path", AR_LESSONS, ids=[p.stem for p in AR_LESSONS])
def test_arabic_lesson_is_right_to_left(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["cartable"]["lang"] == "ar"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            src = cell.source.strip()
            assert src.startswith(RTL_OPEN) and src.endswith("</div>"), src[:60]
            assert src.count("<div") == src.count("</div>") == 1
            assert ARABIC.search(src), "Arabic text expected"
        elif cell.cell_type == "code":
            # code stays left-to-right; texts shown by widgets follow the lesson's direction
            assert 'dir="rtl"' not in cell.source or 'DIR = "rtl"' in cell.source
    assert any('DIR = "rtl"' in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", AR_LESSONS, ids=[p.stem for p in AR_LESSONS])
def test_arabic_lesson_matches_french_widgets(path):
    """Same widgets as the French lesson: only the texts (the ``L`` dict) differ."""
    fr = nbformat.read(path.parent / path.name.replace(".ar.ipynb", ".ipynb"), as_version=4)
    ar = nbformat.read(path, as_version=4)

    def bodies(nb):
        return [re.sub(r"^L = .*\n", "", c.source).replace('"rtl"', '"ltr"')
                for c in nb.cells if c.cell_type == "code"]
    assert bodies(ar) == bodies(fr)
