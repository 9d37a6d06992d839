"""Grading analytics on real nbgrader gradebooks built through nbgrader's own Gradebook API.

The school (numbers below are the ones every expectation is computed from, by hand):

- LYC1, class 2BSM1, maths (course ``lyc1-2026-2bsm1-maths``), pupils ali, badr, chama:
  dm1 (due 1 Oct): q1 code /2, q2 written /3 — ali 2 + 3, badr 1 + 1.5, chama 0 + 1
  dm2 (due 1 Nov): q1 code /4, q2 code /1  — ali 4 + 1, badr 1 + 0,   chama 2 + 0
- LYC1, 2BSM1, physique (``lyc1-2026-2bsm1-physique``), same pupils, same gradebook file:
  tp1: q1 code /3, rapport (task) /2 — ali 3 + 1, badr 1.5 + 1, chama (2 + 1 extra credit) + 1
- LYC2, class 2BSM1 (same class code, other school), maths (``lyc2-2026-2bsm1-maths``), its own
  gradebook file: dm1 as LYC1's — dina 2 + 2 with a late penalty of 1 point, elias 1 + (not graded yet)
- the first gradebook also holds a course of another site (``lyc9-2025-old-maths``, pupil zed)
  that is not in the course registry.
"""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cartable.grading import analytics as an
from cartable.grading.courses import Course, venv_on_path

MATHS1, PHYS1, MATHS2, OLD = ("lyc1-2026-2bsm1-maths", "lyc1-2026-2bsm1-physique", "lyc2-2026-2bsm1-maths",
                              "lyc9-2025-old-maths")
COURSES = {
    MATHS1: Course(MATHS1, "LYC1", "2026", "2BSM1", "maths", ("t-maths1",), ("ali", "badr", "chama")),
    PHYS1: Course(PHYS1, "LYC1", "2026", "2BSM1", "physique", ("t-phys1",), ("ali", "badr", "chama")),
    MATHS2: Course(MATHS2, "LYC2", "2026", "2BSM1", "maths", ("t-maths2",), ("dina", "elias")),
}

# (course, assignment, due, notebook, [(cell, kind, max)])
ASSIGNMENTS = [
    (MATHS1, "dm1", "2026-10-01 18:00:00", "dm1", [("q1", "code", 2), ("q2", "markdown", 3)]),
    (MATHS1, "dm2", "2026-11-01 18:00:00", "dm2", [("q1", "code", 4), ("q2", "code", 1)]),
    (PHYS1, "tp1", "2026-10-20 18:00:00", "tp1", [("q1", "code", 3), ("rapport", "task", 2)]),
    (OLD, "old1", "2025-10-01 18:00:00", "old1", [("q1", "code", 5)]),
    (MATHS2, "dm1", "2026-10-01 18:00:00", "dm1", [("q1", "code", 2), ("q2", "markdown", 3)]),
]
# (course, assignment, pupil, submitted at, {cell: (auto, manual, extra)}, late penalty)
SUBMISSIONS = [
    (MATHS1, "dm1", "ali", "2026-09-30 10:00:00", {"q1": (2, None, None), "q2": (None, 3, None)}, None),
    (MATHS1, "dm1", "badr", "2026-09-30 11:00:00", {"q1": (1, None, None), "q2": (None, 1.5, None)}, None),
    (MATHS1, "dm1", "chama", "2026-09-30 12:00:00", {"q1": (0, None, None), "q2": (None, 1, None)}, None),
    (MATHS1, "dm2", "ali", "2026-10-30 10:00:00", {"q1": (4, None, None), "q2": (1, None, None)}, None),
    (MATHS1, "dm2", "badr", "2026-10-30 11:00:00", {"q1": (1, None, None), "q2": (0, None, None)}, None),
    (MATHS1, "dm2", "chama", "2026-10-30 12:00:00", {"q1": (2, None, None), "q2": (0, None, None)}, None),
    (PHYS1, "tp1", "ali", "2026-10-19 10:00:00", {"q1": (3, None, None), "rapport": (None, 1, None)}, None),
    (PHYS1, "tp1", "badr", "2026-10-19 11:00:00", {"q1": (1.5, None, None), "rapport": (None, 1, None)}, None),
    (PHYS1, "tp1", "chama", "2026-10-19 12:00:00", {"q1": (2, None, 1), "rapport": (None, 1, None)}, None),
    (OLD, "old1", "zed", "2025-09-30 10:00:00", {"q1": (5, None, None)}, None),
    (MATHS2, "dm1", "dina", "2026-10-02 09:00:00", {"q1": (2, None, None), "q2": (None, 2, None)}, 1.0),
    (MATHS2, "dm1", "elias", "2026-09-29 09:00:00", {"q1": (1, None, None)}, None),  # q2 awaits a teacher
]
GRADEBOOK_OF = {MATHS1: "lyc1.sqlite", PHYS1: "lyc1.sqlite", OLD: "lyc1.sqlite", MATHS2: "lyc2.sqlite"}


def build_gradebooks(url_of: dict[str, str]) -> None:
    """Assignments, notebooks, cells, submissions and grades, all through nbgrader's API."""
    from nbgrader.api import Gradebook

    venv_on_path()
    for course, assignment, due, notebook, cells in ASSIGNMENTS:
        if course not in url_of:
            continue
        with Gradebook(url_of[course], course) as gb:
            gb.add_assignment(assignment, duedate=due)
            gb.add_notebook(notebook, assignment)
            for cell, kind, top in cells:
                if kind == "task":
                    gb.add_task_cell(cell, notebook, assignment, max_score=top, cell_type="markdown")
                else:
                    gb.add_grade_cell(cell, notebook, assignment, max_score=top, cell_type=kind)
    notebooks = {(c, a): nb for c, a, _, nb, _ in ASSIGNMENTS}
    for course, assignment, pupil, stamp, scores, penalty in SUBMISSIONS:
        if course not in url_of:
            continue
        with Gradebook(url_of[course], course) as gb:
            gb.update_or_create_student(pupil, first_name=pupil.title(), last_name="Test")
            gb.add_submission(assignment, pupil, timestamp=stamp)
            notebook = notebooks[(course, assignment)]
            for cell, (auto, manual, extra) in scores.items():
                grade = gb.find_grade(cell, notebook, assignment, pupil)
                grade.auto_score, grade.manual_score, grade.extra_credit = auto, manual, extra
                grade.needs_manual_grade = False
            if penalty is not None:
                gb.find_submission_notebook(notebook, assignment, pupil).late_submission_penalty = penalty
            gb.db.commit()


@pytest.fixture(scope="module")
def gradebooks(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradebooks")
    url_of = {course: f"sqlite:///{root / name}" for course, name in GRADEBOOK_OF.items()}
    build_gradebooks(url_of)
    return [url_of[MATHS1], url_of[MATHS2]]


@pytest.fixture(scope="module")
def table(gradebooks):
    return an.read_gradebooks(gradebooks, COURSES)


@pytest.fixture(scope="module")
def scores(table):
    return an.assignment_scores(table)


def by_key(frame: pd.DataFrame, key: list[str], value: str) -> dict:
    return {tuple(k) if len(key) > 1 else k[0]: v
            for k, v in zip(frame[key].astype(object).itertuples(index=False), frame[value])}


# --------------------------------------------------------------------------- the tidy table


def test_tidy_table_has_one_row_per_grade_of_the_registered_courses(table):
    assert list(table.columns) == an.TIDY_COLUMNS
    # maths1: 3 pupils × 4 questions, physique1: 3 × 2, maths2: 2 × 2; the other site's course is left out
    assert len(table) == 12 + 6 + 4
    assert set(table["course"].astype(str)) == {MATHS1, PHYS1, MATHS2}
    assert "zed" not in set(table["pupil"].cat.categories)
    assert not table.duplicated(["course", "pupil", "assignment", "notebook", "question"]).any()


def test_tidy_table_agrees_with_nbgrader_objects(gradebooks, table):
    """Every row's score and maximum are the ones nbgrader's own objects compute."""
    from nbgrader.api import Gradebook

    checked = 0
    for url, course in zip(gradebooks, (MATHS1, MATHS2)):
        with Gradebook(url, course) as gb:
            for row in table.itertuples():
                if GRADEBOOK_OF[row.course] != url.rsplit("/", 1)[1]:
                    continue
                grade = gb.find_grade(row.question, row.notebook, row.assignment, row.pupil)
                assert (row.score, row.max_score) == (grade.score, grade.max_score)
                checked += 1
    assert checked == len(table)


def test_course_metadata_and_grade_details(table):
    row = table[(table.course == MATHS2) & (table.pupil == "dina") & (table.question == "q2")].iloc[0]
    assert (row.school, row.year, row.class_code, row.subject) == ("LYC2", "2026", "2BSM1", "maths")
    assert (row.score, row.max_score, row.graded_by, row.late_penalty) == (2.0, 3.0, "manual", 1.0)
    assert row.due == pd.Timestamp("2026-10-01 18:00:00") and row.submitted_at == pd.Timestamp("2026-10-02 09:00")
    pending = table[(table.pupil == "elias") & (table.question == "q2")].iloc[0]
    assert pending.needs_manual_grade and pending.score == 0 and pd.isna(pending.graded_by)
    extra = table[(table.pupil == "chama") & (table.question == "q1") & (table.course == PHYS1)].iloc[0]
    assert (extra.score, extra.graded_by) == (3.0, "autograder")  # auto 2 + extra credit 1
    task = table[table.question == "rapport"]
    assert set(task.max_score) == {2.0} and set(task.graded_by) == {"manual"}
    assert table["needs_manual_grade"].sum() == 1


# --------------------------------------------------------------------------- grades /20


def test_scores_on_20(scores):
    assert by_key(scores, ["course", "pupil", "assignment"], "score_20") == pytest.approx({
        (MATHS1, "ali", "dm1"): 20.0, (MATHS1, "badr", "dm1"): 10.0, (MATHS1, "chama", "dm1"): 4.0,
        (MATHS1, "ali", "dm2"): 20.0, (MATHS1, "badr", "dm2"): 4.0, (MATHS1, "chama", "dm2"): 8.0,
        (PHYS1, "ali", "tp1"): 16.0, (PHYS1, "badr", "tp1"): 10.0, (PHYS1, "chama", "tp1"): 16.0,
        (MATHS2, "dina", "dm1"): 12.0,   # (4 points − 1 late) / 5
        (MATHS2, "elias", "dm1"): 4.0,
    })
    assert by_key(scores, ["pupil", "assignment"], "pending")[("elias", "dm1")]
    assert scores["pending"].sum() == 1
    assert by_key(scores, ["pupil", "assignment"], "late_penalty")[("dina", "dm1")] == 1.0


def test_subject_and_weighted_averages(scores):
    averages = an.subject_averages(scores)
    assert by_key(averages, ["course", "pupil"], "average_20") == pytest.approx({
        (MATHS1, "ali"): 20.0, (MATHS1, "badr"): 7.0, (MATHS1, "chama"): 6.0,
        (PHYS1, "ali"): 16.0, (PHYS1, "badr"): 10.0, (PHYS1, "chama"): 16.0,
        (MATHS2, "dina"): 12.0, (MATHS2, "elias"): 4.0})
    weighted = an.weighted_averages(scores, {"maths": 7, "physique": 5})
    assert by_key(weighted, ["school", "pupil"], "weighted_average_20") == pytest.approx({
        ("LYC1", "ali"): (20 * 7 + 16 * 5) / 12, ("LYC1", "badr"): (7 * 7 + 10 * 5) / 12,
        ("LYC1", "chama"): (6 * 7 + 16 * 5) / 12, ("LYC2", "dina"): 12.0, ("LYC2", "elias"): 4.0})
    # a subject without a coefficient counts 1 by default, or not at all
    assert by_key(an.weighted_averages(scores, {"maths": 3}), ["pupil"], "weighted_average_20")["badr"] == \
        pytest.approx((7 * 3 + 10) / 4)
    assert by_key(an.weighted_averages(scores, {"maths": 3}, default_coefficient=None), ["pupil"],
                  "weighted_average_20")["badr"] == pytest.approx(7.0)


def test_distributions(scores):
    classes = an.class_distributions(scores)
    lyc1_maths = classes[(classes.school == "LYC1") & (classes.subject == "maths")].iloc[0]
    # pupils' maths averages 20, 7, 6
    assert lyc1_maths.pupils == 3 and lyc1_maths.mean_20 == pytest.approx(11.0)
    assert lyc1_maths["std"] == pytest.approx(math.sqrt((81 + 16 + 25) / 2))
    assert (lyc1_maths["min"], lyc1_maths.q25, lyc1_maths["median"], lyc1_maths.q75, lyc1_maths["max"]) == \
        pytest.approx((6.0, 6.5, 7.0, 13.5, 20.0))
    assert lyc1_maths.q10 == pytest.approx(6.2) and lyc1_maths.q90 == pytest.approx(17.4)
    assert len(classes) == 3  # LYC1 maths, LYC1 physique, LYC2 maths: same class code, other school
    per_assignment = an.assignment_distributions(scores)
    dm1 = per_assignment[(per_assignment.course == MATHS1) & (per_assignment.assignment == "dm1")].iloc[0]
    assert (dm1.pupils, dm1.mean_20, dm1["median"]) == (3, pytest.approx(34 / 3), 10.0)


def test_item_difficulty_and_discrimination(table):
    items = an.item_statistics(table)
    q = {(r.course, r.assignment, r.question): r for r in items.itertuples()}
    q1, q2 = q[(MATHS1, "dm1", "q1")], q[(MATHS1, "dm1", "q2")]
    assert (q1.pupils, q1.max_score, q1.mean_score, q1.difficulty) == (3, 2.0, 1.0, 0.5)
    assert q2.difficulty == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    # q1 = 2, 1, 0 against the rest (q2) = 3, 1.5, 1: Σdxdy = 2, Σdx² = 2, Σdy² = 13/6
    assert q1.discrimination == pytest.approx(2 / math.sqrt(2 * 13 / 6))
    assert q2.discrimination == pytest.approx(2 / math.sqrt(2 * 13 / 6))
    rapport = q[(PHYS1, "tp1", "rapport")]
    assert rapport.difficulty == 0.5 and math.isnan(rapport.discrimination)  # every pupil 1/2: no variance
    assert len(items) == 4 + 2 + 2


def test_difficulty_heatmap_keeps_classes_of_different_schools_apart(table):
    heat = an.difficulty_heatmap(table)
    assert list(heat.columns) == [("LYC1", "2BSM1"), ("LYC2", "2BSM1")]
    assert heat.loc[("maths", "dm1", "q1"), ("LYC1", "2BSM1")] == 0.5
    assert heat.loc[("maths", "dm1", "q1"), ("LYC2", "2BSM1")] == 0.75  # dina 2/2, elias 1/2
    assert math.isnan(heat.loc[("physique", "tp1", "q1"), ("LYC2", "2BSM1")])
    assert len(heat) == 4 + 2


def test_pupils_below_and_falling(scores):
    below = an.pupils_below(scores, threshold=10)
    assert list(zip(below.pupil, below.subject, below.average_20)) == [
        ("elias", "maths", 4.0), ("chama", "maths", 6.0), ("badr", "maths", 7.0)]
    falling = an.pupils_falling(scores, drop=2)
    # badr: dm1 10 then dm2 4; chama rises 4 → 8; ali stays at 20
    assert list(zip(falling.pupil, falling.last_20, falling.previous_mean_20, falling.fall)) == [
        ("badr", 4.0, 10.0, 6.0)]
    assert an.pupils_falling(scores, drop=6).empty


# --------------------------------------------------------------------------- double marking


def test_grader_agreement(table):
    first = an.marks_from_table(table[(table.course == MATHS1) & (table.question == "q2")
                                      & (table.assignment == "dm1")], {MATHS1: "t-maths1"})
    second = pd.DataFrame({
        "course": MATHS1, "pupil": ["ali", "badr", "badr", "chama"], "assignment": "dm1", "notebook": "dm1",
        "question": "q2", "grader": "inspector", "score": [3.0, 2.5, 2.0, 1.0]})  # badr re-marked: last counts
    lone = pd.DataFrame({"course": [MATHS1], "pupil": ["ali"], "assignment": ["dm1"], "notebook": ["dm1"],
                         "question": ["q1"], "grader": ["inspector"], "score": [0.0]})  # marked once: no pair
    agreement = an.grader_agreement(pd.concat([first, second, lone], ignore_index=True))
    assert len(agreement) == 1
    row = agreement.iloc[0]
    # teacher 3, 1.5, 1 — inspector 3, 2, 1
    assert (row.grader_a, row.grader_b, row.answers) == ("inspector", "t-maths1", 3)
    assert row.mean_abs_diff == pytest.approx(0.5 / 3) and row.exact_agreement == pytest.approx(2 / 3)
    assert row.kappa == pytest.approx((2 / 3 - 2 / 9) / (1 - 2 / 9))  # p_e: values 3 and 1, 1/3 × 1/3 each
    assert row.correlation == pytest.approx(2 / math.sqrt(2 * 13 / 6))


def test_grader_agreement_per_group_and_perfect_agreement():
    marks = pd.DataFrame({
        "course": ["a", "a", "a", "a", "b", "b"], "pupil": ["p1", "p1", "p2", "p2", "p3", "p3"],
        "assignment": "x", "notebook": "x", "question": "q", "grader": ["g1", "g2"] * 3,
        "score": [1.0, 1.0, 0.0, 0.0, 2.0, 0.0]})
    agreement = an.grader_agreement(marks, by=["course"]).set_index("course")
    assert agreement.loc["a", "exact_agreement"] == 1.0 and agreement.loc["a", "kappa"] == 1.0
    assert agreement.loc["b", "exact_agreement"] == 0.0 and agreement.loc["b", "mean_abs_diff"] == 2.0
    assert math.isnan(agreement.loc["b", "correlation"])  # one answer: no variance
    assert an.grader_agreement(marks[marks.grader == "g1"]).empty


# --------------------------------------------------------------------------- who sees what


def visible_names(frame: pd.DataFrame, column: str) -> set[str]:
    """Names in the rows *and* in the categories (what a widget built from them would list)."""
    return set(frame[column].astype(str)) | set(frame[column].cat.categories)


def test_pupil_sees_own_rows_only(table, scores):
    mine = an.for_pupil(table, "badr")
    assert len(mine) == 4 + 2 and set(mine.pupil) == {"badr"} and visible_names(mine, "pupil") == {"badr"}
    assert by_key(an.for_pupil(scores, "badr"), ["course", "assignment"], "score_20") == {
        (MATHS1, "dm1"): 10.0, (MATHS1, "dm2"): 4.0, (PHYS1, "tp1"): 10.0}
    assert an.for_pupil(table, "nobody").empty


def test_teacher_never_sees_another_course(table):
    mine = an.for_teacher(table, [COURSES[MATHS1]])
    assert visible_names(mine, "course") == {MATHS1}
    assert visible_names(mine, "pupil") == {"ali", "badr", "chama"}
    # same class code and subject in another school, same subject in the same class: neither leaks
    assert len(mine) == 12 and visible_names(mine, "school") == {"LYC1"}
    assert visible_names(an.for_teacher(table, [MATHS2]), "pupil") == {"dina", "elias"}
    assert an.for_teacher(table, []).empty


def test_director_never_sees_another_school(table):
    lyc2 = an.for_director(table, "LYC2")
    assert visible_names(lyc2, "school") == {"LYC2"} and visible_names(lyc2, "pupil") == {"dina", "elias"}
    assert len(an.for_director(table, "LYC1")) == 18
    assert an.for_director(table, "lyc1").empty  # codes are compared exactly


def test_inspector_sees_assigned_schools_and_subjects_only(table):
    maths1 = an.for_inspector(table, {("LYC1", "maths")})
    assert visible_names(maths1, "course") == {MATHS1} and visible_names(maths1, "subject") == {"maths"}
    every_maths = an.for_inspector(table, {("LYC1", "maths"), ("LYC2", "maths")})
    assert visible_names(every_maths, "course") == {MATHS1, MATHS2}
    whole_lyc1 = an.for_inspector(table, {("LYC1", "*")})
    assert visible_names(whole_lyc1, "course") == {MATHS1, PHYS1}
    assert an.for_inspector(table, set()).empty
    assert an.for_inspector(table, {("LYC3", "*"), ("LYC2", "physique")}).empty


def test_inspector_view_is_filtered_before_aggregating(table):
    view = an.inspector_view(table, {("LYC1", "maths")})
    assert len(view.classes) == 1
    row = view.classes.iloc[0]
    assert (row.school, row.class_code, row.subject, row.pupils, row.mean_20) == ("LYC1", "2BSM1", "maths", 3, 11.0)
    assert (row.q25, row["median"], row.q75) == pytest.approx((6.5, 7.0, 13.5))
    assert list(view.heatmap.columns) == [("LYC1", "2BSM1")]
    assert set(view.heatmap.index.get_level_values("subject")) == {"maths"}
    assert view.heatmap.loc[("maths", "dm1", "q1"), ("LYC1", "2BSM1")] == 0.5  # LYC2's 0.75 not mixed in
    assert set(view.difficulty.school) == {"LYC1"}
    empty = an.inspector_view(table, set())
    assert empty.classes.empty and empty.heatmap.empty


# --------------------------------------------------------------------------- exports


def test_csv_round_trip(tmp_path, scores):
    path = an.to_csv(scores, tmp_path / "scores.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Arabic names right
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"year": str}, parse_dates=["due", "submitted_at"])
    assert list(back.columns) == list(scores.columns)
    pd.testing.assert_frame_equal(back, flat_plain(scores), check_dtype=False)


def test_xlsx_round_trip_with_several_sheets(tmp_path, table, scores):
    view = an.inspector_view(table, {("LYC1", "*"), ("LYC2", "*")})
    path = an.to_xlsx({"scores": scores, "classes": view.classes, "heat map": view.heatmap}, tmp_path / "x.xlsx")
    sheets = pd.read_excel(path, sheet_name=None, dtype={"year": str})
    assert list(sheets) == ["scores", "classes", "heat map"]
    pd.testing.assert_frame_equal(sheets["scores"], flat_plain(scores), check_dtype=False)
    pd.testing.assert_frame_equal(sheets["classes"], flat_plain(view.classes), check_dtype=False)
    heat = sheets["heat map"]
    assert list(heat.columns) == ["subject", "notebook", "question", "LYC1 / 2BSM1", "LYC2 / 2BSM1"]
    assert heat.set_index(["subject", "notebook", "question"]).loc[("maths", "dm1", "q1"), "LYC2 / 2BSM1"] == 0.75


def flat_plain(frame: pd.DataFrame) -> pd.DataFrame:
    """What a spreadsheet gives back: no categoricals, text as text."""
    out = an.flat(frame).copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(str)
    return out


def test_exports_neutralise_formulas(tmp_path):
    frame = pd.DataFrame({"pupil": ["=HYPERLINK(\"http://x\")", "+1", "ali", "-2"], "score": [1.0, -2.0, 3.0, 4.0]})
    frame["question"] = pd.Categorical(["@SUM(A1)", "q1", "q1", "q2"])
    an.to_xlsx(frame, tmp_path / "f.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "f.xlsx").active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [c.value for c in sheet["A"]][1:] == ["'=HYPERLINK(\"http://x\")", "'+1", "ali", "'-2"]
    assert [c.value for c in sheet["B"]][1:] == [1, -2, 3, 4]  # numbers stay numbers
    assert [c.value for c in sheet["C"]][1:] == ["'@SUM(A1)", "q1", "q1", "q2"]
    back = pd.read_csv(an.to_csv(frame, tmp_path / "f.csv"), encoding="utf-8-sig")
    assert back.pupil.tolist()[:2] == ["'=HYPERLINK(\"http://x\")", "'+1"]


# --------------------------------------------------------------------------- reading and caching


def test_cache_is_the_same_table_and_follows_the_gradebook(tmp_path):
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'lyc2.sqlite'}"
    build_gradebooks({MATHS2: url})
    cache = tmp_path / "cache"
    fresh = an.read_gradebook(url, COURSES)
    cached_first = an.load_tidy(url, COURSES, cache)
    cached_again = an.load_tidy(url, COURSES, cache)
    for frame in (cached_first, cached_again):
        pd.testing.assert_frame_equal(frame, fresh, check_categorical=False)
    assert len(list(cache.glob("*.npz"))) == 1 and (cache.stat().st_mode & 0o077) == 0
    with Gradebook(url, MATHS2) as gb:
        gb.find_grade("q2", "dm1", "dm1", "elias").manual_score = 3
        gb.db.commit()
    changed = an.load_tidy(url, COURSES, cache)
    elias = changed[(changed.pupil == "elias") & (changed.question == "q2")].iloc[0]
    assert (elias.score, elias.graded_by) == (3.0, "manual")
    assert len(list(cache.glob("*.npz"))) == 1  # the stale copy is gone
    fewer = an.load_tidy(url, {MATHS2: COURSES[MATHS2]}, cache)  # other metadata: another entry
    assert set(fewer.course) == {MATHS2}


@pytest.mark.postgres
def test_read_gradebook_on_postgresql(postgres, table):
    """The same gradebooks on PostgreSQL (one shared database for LYC1, one for LYC2: nbgrader
    forbids two courses of one database from having an assignment of the same name)."""
    lyc1, lyc2 = postgres.new_database(), postgres.new_database()
    build_gradebooks({course: lyc2 if course == MATHS2 else lyc1 for course in GRADEBOOK_OF})
    on_postgres = an.read_gradebooks([lyc1, lyc2], COURSES)
    key = ["course", "pupil", "assignment", "notebook", "question"]
    left = on_postgres.sort_values(key).reset_index(drop=True)
    right = table.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_categorical=False)


# --------------------------------------------------------------------------- a large synthetic table


def synthetic_table(pupils: int = 12_000, schools: int = 30, seed: int = 3) -> pd.DataFrame:
    """Pupils of classes of 40 in ``schools`` schools, two subjects × two assignments × 5
    questions; scores follow each pupil's ability, except ``noise`` questions, which are random."""
    rng = np.random.default_rng(seed)
    pupil = np.arange(pupils)
    school = pupil % schools
    klass = pupil // schools // 40
    ability = rng.normal(0, 1, pupils)
    items = pd.DataFrame([(s, a, q, m) for s in ("maths", "physique") for a in ("dm1", "dm2")
                          for q, m in (("q1", 1), ("q2", 2), ("q3", 2), ("q4", 4), ("noise", 3))],
                         columns=["subject", "assignment", "question", "max_score"])
    rows = pd.DataFrame({"p": np.repeat(pupil, len(items)), "i": np.tile(np.arange(len(items)), pupils)})
    item = items.iloc[rows.i].reset_index(drop=True)
    p = 1 / (1 + np.exp(-ability[rows.p]))
    p = np.where(item.question == "noise", rng.uniform(0, 1, len(rows)), p)
    score = np.round(p * item.max_score * 2) / 2
    courses = {f"s{s:02d}-2026-c{k:02d}-{subj}": Course(f"s{s:02d}-2026-c{k:02d}-{subj}", f"S{s:02d}", "2026",
                                                          f"C{k:02d}", subj)
               for s in range(schools) for k in range(klass.max() + 1) for subj in ("maths", "physique")}
    course = [f"s{s:02d}-2026-c{k:02d}-{subj}" for s, k, subj in zip(school[rows.p], klass[rows.p], item.subject)]
    return an.tidy_table({
        "course": course, "pupil": [f"p{i:06d}" for i in rows.p], "assignment": item.assignment,
        "notebook": item.assignment, "question": item.question, "score": score, "max_score": item.max_score,
        "needs_manual_grade": np.zeros(len(rows)), "graded_by": np.full(len(rows), "autograder", dtype=object),
        "late_penalty": np.zeros(len(rows)),
        "due": np.where(item.assignment == "dm1", "2026-10-01", "2026-11-01"),
        "submitted_at": np.full(len(rows), "2026-09-30 10:00:00", dtype=object)}, an.course_metadata(courses))


def test_large_synthetic_table_sanity():
    table = synthetic_table()
    assert len(table) == 12_000 * 20
    scores = an.assignment_scores(table)
    assert len(scores) == 12_000 * 4 and scores.score_20.between(0, 20).all()
    # /20 from the rows, another way: each assignment is worth 12 points
    points = table.groupby(["pupil", "subject", "assignment"], observed=True)["score"].sum()
    assert np.allclose(np.sort(points.to_numpy() * 20 / 12), np.sort(scores.score_20.to_numpy()))
    everything = an.inspector_view(table, {(s, "*") for s in table.school.cat.categories})
    assert everything.classes.pupils.sum() == 12_000 * 2  # each pupil once per subject
    per_school = sum(an.inspector_view(table, {(s, "maths")}).classes.pupils.sum()
                     for s in table.school.cat.categories)
    assert per_school == 12_000
    classes = table.groupby(["school", "class_code"], observed=True).ngroups
    assert everything.heatmap.shape == (2 * 2 * 5, classes)  # subject × notebook × question, school × class
    items = an.item_statistics(table, ["subject", "assignment", "question"])
    assert items.difficulty.between(0, 1).all() and items.discrimination.between(-1, 1).all()
    signal = items[items.question != "noise"].discrimination
    noise = items[items.question == "noise"].discrimination
    assert signal.min() > 0.5 and noise.abs().max() < 0.05
    assert an.pupils_below(scores, 10).average_20.lt(10).all()
    assert len(an.for_director(table, "S07")) == 400 * 20
