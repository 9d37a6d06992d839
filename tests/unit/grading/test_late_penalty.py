"""One late penalty: the exchange's percentage (course policy), stored in nbgrader's
``late_submission_penalty`` by the autograder and refreshed with manual points, so that the
export, the feedback and the dashboards read the same grade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.autograde_batch import make_course

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "courses" / "exercises" / "ex-suites" / "ex-suites.ipynb"]


def test_exchange_percentage_is_the_gradebook_penalty_and_follows_manual_points(tmp_path):
    from nbgrader.api import Gradebook

    from cartable.grading import analytics
    from cartable.grading.autograde import Autograder
    from cartable.grading.exchange.protocol import SUBMISSION_INFO
    from cartable.grading.grades import grades_table

    course = make_course(tmp_path / "c", SOURCES, 2, course_id="late-course")
    root, a = course["root"], course["assignment"]
    on_time, late = course["pupils"]  # eleve000 answers everything; eleve001 nothing
    # eleve000 was two days late under a 10 %/day policy, as the exchange recorded at collect
    (root / "submitted" / on_time / a / SUBMISSION_INFO).write_text(
        json.dumps({"late": True, "penalty_percent": 20.0}))
    (root / "submitted" / late / a / SUBMISSION_INFO).write_text(json.dumps({"late": False, "penalty_percent": 0}))
    with Autograder(root, course["course_id"]) as grader:
        results = {r.student: r for r in grader.grade(a)}
    assert not any(r.error for r in results.values())

    url = grader.db_url
    import sqlite3

    # the batch left the gradebook in write-ahead-log mode (fewer waits for the disk)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Gradebook(url, course["course_id"]) as gb:
        sub = gb.find_submission_notebook("ex-suites", a, on_time)
        auto, top = sub.score, sub.max_score
        assert auto > 0 and sub.late_submission_penalty == pytest.approx(auto * 0.2)
        assert gb.find_submission_notebook("ex-suites", a, late).late_submission_penalty is None
        # the teacher then gives manual points to a written answer
        manual = next(g for g in sub.grades if g.auto_score is None and g.max_score > 0)
        manual.manual_score = manual.max_score
        gb.db.commit()
        total = gb.find_submission_notebook("ex-suites", a, on_time).score
    assert total > auto

    table = grades_table(root, course["course_id"])
    row = table.set_index("eleve").loc[on_time]
    assert row["retard"] and row["penalite_pct"] == 20.0
    assert row["note_sur_20"] == pytest.approx(round(20 * total * 0.8 / top, 2))
    with Gradebook(url, course["course_id"]) as gb:
        assert gb.find_submission_notebook("ex-suites", a, on_time).late_submission_penalty == \
            pytest.approx(total * 0.2)

    # the analytics (what the dashboards show) read the same grade
    from types import SimpleNamespace

    tidy = analytics.read_gradebook(url, {course["course_id"]: SimpleNamespace(
        school="0000000A", year="2026", class_code="2BSM1", subject="maths")})
    scores = analytics.assignment_scores(tidy).set_index("pupil")
    assert scores.loc[on_time, "score_20"] == pytest.approx(20 * total * 0.8 / top, abs=0.01)
