"""Feedback made with Cartable's config never shows hidden tests nor their expected values;
the same course works with its gradebook on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from support.exchange import HIDDEN_VALUE, source_notebook


def run_course(tmp_path, gradebook=None):
    from cartable.grading.courses import ensure_gradebook, gradebook_url, write_course_config
    from cartable.grading.grades import grades_table

    d = tmp_path / "course"
    write_course_config(d, "demo-2026-2bsm1-maths", gradebook)
    ensure_gradebook(gradebook_url(d, gradebook), "demo-2026-2bsm1-maths", ["p1", "p2"])
    (d / "source" / "ps1").mkdir(parents=True)
    (d / "source" / "ps1" / "ps1.ipynb").write_text(source_notebook())
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               CARTABLE_EXCHANGE_URL="http://127.0.0.1:9/")

    def nb(*args):
        r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=d, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    nb("db", "assignment", "add", "ps1")
    nb("generate_assignment", "ps1", "--force")
    released = (d / "release" / "ps1" / "ps1.ipynb").read_text()
    assert HIDDEN_VALUE not in released
    for pupil, answer in (("p1", "return x + x"), ("p2", "return x + 1")):
        book = nbformat.reads(released, 4)
        for cell in book.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "double":
                cell.source = f"def double(x):\n    {answer}"
        sub = d / "submitted" / pupil / "ps1"
        sub.mkdir(parents=True)
        nbformat.write(book, sub / "ps1.ipynb")
        (sub / "timestamp.txt").write_text("2026-11-20 17:00:00.000000 UTC")
    nb("autograde", "ps1", "--force")
    nb("generate_feedback", "ps1", "--force")
    return d, grades_table(d, "demo-2026-2bsm1-maths", gradebook_url(d, gradebook))


def check(d, table):
    for pupil in ("p1", "p2"):
        html = (d / "feedback" / pupil / "ps1" / "ps1.html").read_text()
        assert HIDDEN_VALUE not in html and str(2 * int(HIDDEN_VALUE)) not in html
        assert "HIDDEN TESTS" not in html and "expected" not in html
        assert "double" in html and ("Tests r" in html or "Tests \u00e9" in html)  # visible test and its verdict stay
    notes = dict(zip(table["eleve"], table["note_sur_20"]))
    assert notes["p1"] == pytest.approx(20 * 2 / 3, abs=0.01) and notes["p2"] == 0


def test_feedback_hides_hidden_tests_sqlite_gradebook(tmp_path):
    d, table = run_course(tmp_path)
    assert (d / "gradebook.db").exists()
    check(d, table)


@pytest.mark.hub
def test_gradebook_on_postgresql(tmp_path, postgres):
    url = postgres.new_database()
    d, table = run_course(tmp_path, url)
    assert not (d / "gradebook.db").exists()
    check(d, table)
