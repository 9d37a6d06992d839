"""Grades of a course read from its nbgrader gradebook, on the /20 scale used in lycées."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def penalty_percent(course_dir: Path, student: str, assignment: str) -> tuple[float, bool] | None:
    """The exchange's late penalty (percent) and lateness of a collected submission, or None when
    it was not collected through the exchange (nbgrader's own late-penalty plugin then applies)."""
    from cartable.grading.exchange.protocol import SUBMISSION_INFO

    path = Path(course_dir) / "submitted" / student / assignment / SUBMISSION_INFO
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return min(max(float(info.get("penalty_percent") or 0), 0.0), 100.0), bool(info.get("late"))
    except (ValueError, TypeError, AttributeError):
        return None


def late_penalty(score: float | None, percent: float) -> float | None:
    """nbgrader's ``late_submission_penalty`` (points) for ``percent`` of a notebook's score."""
    if not percent or not score:
        return None
    return round(score * percent / 100, 4)


def refresh_late_penalties(gb, course_dir: Path) -> None:
    """Set every submitted notebook's late penalty from the exchange's percentage and its current
    score (manual points included): the gradebook's penalty column is the one grade everybody
    reads (export, feedback, dashboards)."""
    for a in gb.assignments:
        for sub in a.submissions:
            found = penalty_percent(course_dir, sub.student.id, a.name)
            if found is None:
                continue
            for nb in sub.notebooks:
                nb.late_submission_penalty = late_penalty(nb.score, found[0])
    gb.db.commit()


def grades_table(course_dir: Path, course: str, db_url: str | None = None) -> pd.DataFrame:
    """One row per pupil × assignment: raw score, maximum, late penalty and the grade /20.

    The grade is 20 × (points − late penalty) / maximum, the penalty being the gradebook's
    (refreshed here from the exchange's percentage, so that manual points count). The gradebook
    is ``db_url``, else the one the course folder's ``nbgrader_config.py`` names, read without
    running it (:func:`~cartable.grading.courses.course_gradebook_url`)."""
    import pandas as pd
    from nbgrader.api import Gradebook

    from cartable.grading.courses import course_gradebook_url, venv_on_path

    venv_on_path()
    rows = []
    with Gradebook(db_url or course_gradebook_url(course_dir), course) as gb:
        refresh_late_penalties(gb, course_dir)
        for a in gb.assignments:
            for st in gb.students:
                try:
                    sub = gb.find_submission(a.name, st.id)
                except Exception:  # MissingEntry: nothing submitted
                    rows.append({"eleve": st.id, "devoir": a.name, "points": None, "points_max": a.max_score,
                                 "retard": None, "penalite_pct": None, "note_sur_20": None})
                    continue
                found = penalty_percent(course_dir, st.id, a.name)
                percent, late = found if found is not None else (0.0, sub.total_seconds_late > 0)
                score, top = sub.score, a.max_score
                penalty = sum(nb.late_submission_penalty or 0 for nb in sub.notebooks)
                note = round(min(max(20 * (score - penalty) / top, 0), 20), 2) if top else None
                rows.append({"eleve": st.id, "devoir": a.name, "points": score, "points_max": top, "retard": late,
                             "penalite_pct": percent, "note_sur_20": note})
    return pd.DataFrame(rows, columns=["eleve", "devoir", "points", "points_max", "retard", "penalite_pct",
                                       "note_sur_20"])
