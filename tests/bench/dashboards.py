"""Dashboards: the inspector view over a national-size gradebook, ours against a loop over nbgrader's API.

Generates one nbgrader gradebook (nbgrader's own schema, created by ``nbgrader.api.Gradebook``,
then filled with bulk inserts) of N pupils (default 100,000) in 200 schools, classes of 36, two
subjects (maths, physique) per class — one nbgrader course per class × subject — and in each
course two assignments of one notebook with 5 graded cells: 20 graded questions per pupil,
N × 20 grades. Then, in the same run:

- ours: ``cartable.grading.analytics.read_gradebook`` (one SQL query into the tidy table, "load")
  and ``inspector_view`` over every school and subject ("view": the < 2 s target applies to it),
  and the load again through ``load_tidy``'s on-disk cache;
- stock: the straightforward per-object loop over nbgrader's Gradebook API (``gb.assignments``,
  then for each course, each assignment, each pupil: ``find_submission`` → ``notebooks`` →
  ``grades`` → score, max score …), then the same pandas view over what it read. It runs over a
  separate gradebook of ``--sample`` pupils (5,000, same shape) and is scaled linearly to N: that
  is the summary line's ``stock_s``, and a lower bound — nbgrader's schema has no index on
  ``grade.notebook_id``, so in the full gradebook each pupil costs more; the loop is also run for
  ``--probe`` pupils inside the full gradebook to show that per-pupil cost.

The gradebook is SQLite: Cartable's default gradebook (one file per course folder), no server to
run, fast to bulk-load, and with no hash join the harder case for a one-query read. A benchmark,
not a test: nothing asserts on time. The summary line's lesson figures come from
``tests/bench/lessons_render.py``: time to first render of a lesson through the lessons' Voilà,
without a pre-started kernel (cold) and with one (warm), medians of ``--lesson-runs`` loads.

    python tests/bench/dashboards.py [--pupils 100000] [--sample 5000] [--probe 10] [--probe-listing] [--keep PATH]
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCHOOLS = 200
CLASS_SIZE = 36
YEAR = "2026"
SUBJECTS = ("maths", "physique")
#: per subject: two assignments, each one notebook of five questions (name, max score, manual?)
NOTEBOOKS = {"dm1": "chap1", "dm2": "chap2"}
QUESTIONS = [("q1", 1.0, False), ("q2", 2.0, False), ("q3", 2.0, False), ("q4", 3.0, False), ("q5", 4.0, True)]
DUE = {"dm1": "2026-10-15 18:00:00.000000", "dm2": "2026-11-15 18:00:00.000000"}


def venv_on_path():
    bindir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def uuids(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct 32-hex-digit ids, as nbgrader's ``uuid4().hex``."""
    blob = rng.bytes(16 * n).hex()
    return [blob[32 * i:32 * i + 32] for i in range(n)]


def structure(pupils: int) -> pd.DataFrame:
    """Pupils with their school and class: 200 schools (fewer if N < 200), classes of 36."""
    schools = min(SCHOOLS, pupils)
    index = np.arange(pupils)
    per_school = math.ceil(pupils / schools)
    school = index // per_school
    klass = (index % per_school) // CLASS_SIZE
    return pd.DataFrame({"pupil": [f"p{i:07d}" for i in index], "school": [f"lyc{s:03d}" for s in school],
                         "class_code": [f"2bac{k + 1:02d}" for k in klass]})


def course_id(school: str, class_code: str, subject: str) -> str:
    return f"{school}-{YEAR}-{class_code}-{subject}"


def generate(path: Path, pupils: int, seed: int = 7) -> dict[str, object]:
    """Fill a fresh nbgrader gradebook at ``path``; returns the courses (id → Course)."""
    from nbgrader.api import Gradebook

    from cartable.grading.courses import Course

    rng = np.random.default_rng(seed)
    people = structure(pupils)
    rosters = people.groupby(["school", "class_code"], sort=True)["pupil"].agg(tuple)
    courses = {}
    for (school, class_code), roster in rosters.items():
        for subject in SUBJECTS:
            cid = course_id(school, class_code, subject)
            courses[cid] = Course(cid, school, YEAR, class_code, subject, ("t-" + cid,), roster)
    first = next(iter(courses))
    venv_on_path()
    Gradebook(f"sqlite:///{path}", first).close()  # nbgrader's schema and alembic version

    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000000;")
    course_ids = list(courses)
    db.executemany("INSERT INTO course (id) VALUES (?)", [(c,) for c in course_ids if c != first])
    # assignments, notebooks, grade cells: per course × assignment
    cells = []           # (course, assignment, cell id, max, manual)
    notebook_ids = {}
    assignment_ids = {}
    n_assign = len(course_ids) * len(NOTEBOOKS)
    ids = iter(uuids(n_assign * (2 + len(QUESTIONS)), rng))
    assignment_rows, notebook_rows, base_rows, grade_cell_rows = [], [], [], []
    for cid in course_ids:
        for name, nb in NOTEBOOKS.items():
            aid, nid = next(ids), next(ids)
            assignment_ids[(cid, name)], notebook_ids[(cid, name)] = aid, nid
            assignment_rows.append((aid, f"{name}-{cid}", DUE[name], cid))
            notebook_rows.append((nid, nb, aid))
            for q, top, manual in QUESTIONS:
                cell = next(ids)
                base_rows.append((cell, q, nid, "GradeCell"))
                grade_cell_rows.append((cell, top, "markdown" if manual else "code"))
                cells.append((cid, name, cell, top, manual))
    db.executemany("INSERT INTO assignment (id, name, duedate, course_id) VALUES (?, ?, ?, ?)", assignment_rows)
    db.executemany("INSERT INTO notebook (id, name, assignment_id) VALUES (?, ?, ?)", notebook_rows)
    db.executemany("INSERT INTO base_cell (id, name, notebook_id, type) VALUES (?, ?, ?, ?)", base_rows)
    db.executemany("INSERT INTO grade_cells (id, max_score, cell_type) VALUES (?, ?, ?)", grade_cell_rows)
    db.executemany("INSERT INTO student (id, first_name, last_name) VALUES (?, ?, ?)",
                   [(p, f"Prenom{p[1:]}", f"Nom{p[1:]}") for p in people.pupil])
    # submissions: every pupil, both subjects, both assignments
    subs = people.merge(pd.DataFrame({"subject": SUBJECTS}), how="cross").merge(
        pd.DataFrame({"assignment": list(NOTEBOOKS)}), how="cross")
    subs["course"] = subs.school + f"-{YEAR}-" + subs.class_code + "-" + subs.subject
    n_subs = len(subs)
    subs["sub_id"] = uuids(n_subs, rng)
    subs["sub_nb_id"] = uuids(n_subs, rng)
    keys = list(zip(subs.course, subs.assignment))
    subs["assignment_id"] = [assignment_ids[k] for k in keys]
    subs["notebook_id"] = [notebook_ids[k] for k in keys]
    minutes = rng.integers(60, 60 * 24 * 6, n_subs)
    base = {k: pd.Timestamp(v) - pd.Timedelta(days=7) for k, v in DUE.items()}
    stamps = [(base[a] + pd.Timedelta(minutes=int(m))).strftime("%Y-%m-%d %H:%M:%S.%f")
              for a, m in zip(subs.assignment, minutes)]
    db.executemany("INSERT INTO submitted_assignment (id, assignment_id, student_id, timestamp) VALUES (?, ?, ?, ?)",
                   zip(subs.sub_id, subs.assignment_id, subs.pupil, stamps))
    db.executemany("INSERT INTO submitted_notebook (id, assignment_id, notebook_id, flagged, "
                   "late_submission_penalty) VALUES (?, ?, ?, 0, NULL)",
                   zip(subs.sub_nb_id, subs.sub_id, subs.notebook_id))
    # grades: a pupil's ability, a school and class effect, each question's difficulty
    school_effect = rng.normal(0, 0.4, SCHOOLS)[people.school.str[3:].astype(int).to_numpy()]
    ability = rng.normal(0, 1, pupils) + school_effect
    pupil_index = {p: i for i, p in enumerate(people.pupil)}
    cell_frame = pd.DataFrame(cells, columns=["course", "assignment", "cell_id", "max_score", "manual"])
    cell_frame["hardness"] = np.tile(rng.normal(0, 0.8, len(NOTEBOOKS) * len(QUESTIONS)),
                                     len(cell_frame) // (len(NOTEBOOKS) * len(QUESTIONS)))
    grades = subs[["course", "assignment", "pupil", "sub_nb_id"]].merge(cell_frame, on=["course", "assignment"])
    theta = ability[grades.pupil.map(pupil_index).to_numpy()] + np.where(grades.assignment == "dm2", -0.1, 0)
    p = 1 / (1 + np.exp(-(theta - grades.hardness.to_numpy()))) + rng.normal(0, 0.15, len(grades))
    score = np.round(np.clip(p, 0, 1) * grades.max_score.to_numpy() * 2) / 2
    manual = grades.manual.to_numpy()
    auto = np.where(manual, np.nan, score)
    graded_by_hand = np.where(manual, score, np.nan)
    db.executemany("INSERT INTO grade (id, notebook_id, cell_id, auto_score, manual_score, extra_credit, "
                   "needs_manual_grade) VALUES (?, ?, ?, ?, ?, NULL, 0)",
                   zip(uuids(len(grades), rng), grades.sub_nb_id, grades.cell_id,
                       [None if np.isnan(v) else float(v) for v in auto],
                       [None if np.isnan(v) else float(v) for v in graded_by_hand]))
    db.commit()
    db.close()
    return courses


def inspector_of_everything(courses) -> set[tuple[str, str]]:
    return {(c.school, "*") for c in courses.values()}


def ours(path: Path, courses, cache_dir: Path) -> dict:
    """Load (one SQL query → tidy table), then the inspector view of every school and subject;
    and the load again through the on-disk cache (``load_tidy``: first call fills it)."""
    from cartable.grading import analytics

    t0 = time.perf_counter()
    table = analytics.read_gradebook(path, courses)
    t1 = time.perf_counter()
    view = analytics.inspector_view(table, inspector_of_everything(courses))
    t2 = time.perf_counter()
    analytics.load_tidy(path, courses, cache_dir)
    t3 = time.perf_counter()
    cached = analytics.load_tidy(path, courses, cache_dir)
    t4 = time.perf_counter()
    assert len(cached) == len(table)
    return {"table": table, "view": view, "load_s": t1 - t0, "view_s": t2 - t1, "fill_cache_s": t3 - t2,
            "cached_load_s": t4 - t3}


def stock_rows(gb, assignments: dict[str, list], courses, pupils_per_course: int | None = None) -> list[dict]:
    """The straightforward loop over nbgrader's Gradebook API: one object at a time."""
    from nbgrader.api import MissingEntry

    rows = []
    for course in courses.values():
        for a in assignments.get(course.id, []):
            for pupil in course.pupils[:pupils_per_course]:
                try:
                    submission = gb.find_submission(a.name, pupil)
                except MissingEntry:
                    continue
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        graded_by = ("manual" if grade.manual_score is not None
                                     else "autograder" if grade.auto_score is not None else None)
                        rows.append({"course": course.id, "pupil": pupil, "assignment": a.name,
                                     "notebook": nb.name, "question": grade.name, "score": grade.score,
                                     "max_score": grade.max_score, "graded_by": graded_by,
                                     "needs_manual_grade": grade.needs_manual_grade,
                                     "late_penalty": nb.late_submission_penalty, "due": a.duedate,
                                     "submitted_at": submission.timestamp})
    return rows


def assignments_by_course(gb) -> dict[str, list]:
    out: dict[str, list] = {}
    for a in gb.assignments:
        out.setdefault(a.course_id, []).append(a)
    return out


def stock(path: Path, courses) -> dict:
    """The stock loop over a whole gradebook, then the same pandas view as ours."""
    from nbgrader.api import Gradebook

    from cartable.grading import analytics

    t0 = time.perf_counter()
    with Gradebook(f"sqlite:///{path}", next(iter(courses))) as gb:
        rows = stock_rows(gb, assignments_by_course(gb), courses)
    table = analytics.tidy_table(pd.DataFrame(rows), analytics.course_metadata(courses))
    t1 = time.perf_counter()
    view = analytics.inspector_view(table, inspector_of_everything(courses))
    t2 = time.perf_counter()
    return {"table": table, "view": view, "load_s": t1 - t0, "view_s": t2 - t1}


def stock_probe(path: Path, courses, pupils: int, list_all: bool) -> dict:
    """The same loop inside the full gradebook for a few pupils of one class (both subjects):
    the per-pupil cost there. Listing every assignment (``gb.assignments``, one correlated
    sub-query per assignment) is timed apart, and only with ``list_all``: ~10 minutes at
    100,000 pupils; otherwise the class's assignments are found by name."""
    from nbgrader.api import Gradebook

    first = next(iter(courses.values()))
    chosen = {cid: c for cid, c in courses.items() if (c.school, c.class_code) == (first.school, first.class_code)}
    with Gradebook(f"sqlite:///{path}", first.id) as gb:
        t0 = time.perf_counter()
        if list_all:
            assignments = assignments_by_course(gb)
        else:
            assignments = {cid: [gb.find_assignment(f"{name}-{cid}") for name in NOTEBOOKS] for cid in chosen}
        t1 = time.perf_counter()
        rows = stock_rows(gb, assignments, chosen, pupils)
        t2 = time.perf_counter()
    probed = min(pupils, len(first.pupils))
    return {"pupils": probed, "grades": len(rows), "list_s": t1 - t0 if list_all else None,
            "per_pupil_s": (t2 - t1) / probed}


def same_numbers(ours_view, stock_view) -> float:
    """Largest difference between the two views' class means (inf if not the same classes)."""
    mine = ours_view.classes.set_index(["school", "class_code", "subject"])
    theirs = stock_view.classes.set_index(["school", "class_code", "subject"])
    if len(mine) != len(theirs) or not mine.index.equals(theirs.index):
        return float("inf")
    return float((mine["mean_20"] - theirs["mean_20"]).abs().max())


def timed_generate(path: Path, pupils: int) -> dict:
    t0 = time.perf_counter()
    courses = generate(path, pupils)
    grades = pupils * len(SUBJECTS) * len(NOTEBOOKS) * len(QUESTIONS)
    print(f"generated {path.name}: {pupils} pupils, {len({c.school for c in courses.values()})} schools, "
          f"{len(courses)} courses, {grades} grades, {path.stat().st_size / 1e6:.0f} MB "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    return courses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000, help="pupils of the gradebook the stock loop reads")
    parser.add_argument("--probe", type=int, default=10,
                        help="pupils the stock loop reads inside the full gradebook (per-pupil cost there)")
    parser.add_argument("--probe-listing", action="store_true",
                        help="also time nbgrader's gb.assignments over the full gradebook (~10 min at 100,000)")
    parser.add_argument("--keep", type=Path, default=None, help="write the full gradebook here and keep it")
    parser.add_argument("--lesson", default="suites", help="the lesson whose first render is timed")
    parser.add_argument("--lesson-runs", type=int, default=3, help="page loads per figure (median)")
    args = parser.parse_args()
    sample_size = min(args.sample, args.pupils)
    with tempfile.TemporaryDirectory(prefix="dashboards-") as tmp:
        path = args.keep or Path(tmp) / "gradebook.db"
        path.unlink(missing_ok=True)
        courses = timed_generate(path, args.pupils)
        o = ours(path, courses, Path(tmp) / "cache")
        print(f"ours   load: 1 SQL query -> tidy table of {len(o['table'])} rows: {o['load_s']:.2f} s "
              f"(through the .npz cache: {o['cached_load_s']:.3f} s once filled, filling it {o['fill_cache_s']:.2f} s)",
              flush=True)
        print(f"ours   view: inspector view of every school and subject ({len(o['view'].classes)} class x subject "
              f"rows, heat map {o['view'].heatmap.shape[0]} x {o['view'].heatmap.shape[1]}): {o['view_s']:.2f} s",
              flush=True)
        probe = stock_probe(path, courses, args.probe, args.probe_listing)
        listing = (f"listing its assignments {probe['list_s']:.1f} s, then " if args.probe_listing
                   else "(listing its assignments not timed: --probe-listing) ")
        in_full = (probe["list_s"] or 0) + probe["per_pupil_s"] * args.pupils
        print(f"stock  in the full gradebook: {listing}{probe['per_pupil_s']:.2f} s per pupil ({probe['pupils']} "
              f"pupils, {probe['grades']} grades read): {in_full:.0f} s for {args.pupils} pupils (extrapolated: "
              f"nbgrader has no index on grade.notebook_id nor submitted_notebook.assignment_id, so each "
              f"notebook's grades are a scan of the whole grade table)", flush=True)

        sample_path = Path(tmp) / "sample.db"
        sample_courses = timed_generate(sample_path, sample_size)
        s = stock(sample_path, sample_courses)
        mine = ours(sample_path, sample_courses, Path(tmp) / "cache")
        scale = args.pupils / sample_size
        stock_total = (s["load_s"] + s["view_s"]) * scale
        print(f"stock  per-object Gradebook API loop over a {sample_size}-pupil gradebook ({len(s['table'])} grades): "
              f"load {s['load_s']:.1f} s + view {s['view_s']:.2f} s, scaled linearly x{scale:.0f} to {args.pupils} "
              f"pupils = {stock_total:.0f} s (estimated, not measured; a lower bound, see the line above)", flush=True)
        print(f"check  class means of the {sample_size}-pupil gradebook, ours vs stock: largest difference "
              f"{same_numbers(mine['view'], s['view']):.2e}")

    ours_total = o["load_s"] + o["view_s"]
    ratio = stock_total / ours_total if ours_total else float("nan")
    print(f"ours   load + view = {ours_total:.2f} s (cached load + view = {o['cached_load_s'] + o['view_s']:.2f} s); "
          f"the < 2 s target applies to the view over the loaded table: {o['view_s']:.2f} s "
          f"({'met' if o['view_s'] < 2 else 'NOT met'})")
    print(f"ratio  stock (scaled from the sample) / ours (load + view) = {ratio:.0f}")
    # time to first render of a lesson, without and with a pre-started kernel (tests/bench/lessons_render.py)
    from lessons_render import measure

    lesson = measure(args.lesson, args.lesson_runs)
    print(f"lesson {lesson['lesson']}: first render without a pre-started kernel {lesson['cold_s']:.2f} s "
          f"(median of {args.lesson_runs}: {', '.join(f'{x:.2f}' for x in lesson['cold_runs'])}), with one "
          f"{lesson['warm_s']:.3f} s ({', '.join(f'{x:.3f}' for x in lesson['warm_runs'])})")
    print(f"dashboards pupils={args.pupils} stock_s={stock_total:.1f} ours_s={ours_total:.2f} ratio={ratio:.0f} "
          f"lesson_cold_s={lesson['cold_s']:.2f} lesson_warm_s={lesson['warm_s']:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
