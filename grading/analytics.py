"""Grading analytics: nbgrader gradebooks read into tidy pandas tables, and what dashboards show.

The *tidy table* has one row per pupil × assignment × question (an nbgrader grade: one graded
cell of one submitted notebook). It is read with one SQL query per gradebook over nbgrader's own
tables, never with a loop over the Gradebook API's objects, and the course of each row is joined
to its school, class and subject from a mapping given by the caller (the course registry), so
this module needs no hub database. Everything else is computed from that table with vectorised
pandas operations:

- :func:`assignment_scores`: points and the grade /20 per pupil × assignment;
- :func:`subject_averages`, :func:`weighted_averages`: per pupil and subject, then weighted by
  the subjects' coefficients;
- :func:`distribution`, :func:`class_distributions`, :func:`assignment_distributions`;
- :func:`item_statistics`: difficulty and discrimination of each question;
- :func:`pupils_below`, :func:`pupils_falling`: pupils at risk;
- :func:`grader_agreement`: agreement between two markings of the same answers;
- :func:`for_pupil`, :func:`for_teacher`, :func:`for_director`, :func:`for_inspector`: the rows a
  viewer may see — dashboards filter first, then aggregate (:func:`inspector_view`);
- :func:`to_csv`, :func:`to_xlsx`: exports;
- :func:`load_tidy`: the tidy table through an on-disk cache (``.npz``, no pickle).

``docs/analytics.md`` defines every column and statistic.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

#: What a course is, joined to every row: its school, school year, class and subject.
COURSE_COLUMNS = ["school", "year", "class_code", "subject", "course"]
#: One graded cell of one assignment.
QUESTION_COLUMNS = ["assignment", "notebook", "question"]
TIDY_COLUMNS = [*COURSE_COLUMNS, "pupil", *QUESTION_COLUMNS, "score", "max_score", "needs_manual_grade", "graded_by",
                "late_penalty", "due", "submitted_at"]

#: A class of a school in one subject (one course per year).
CLASS_KEY = ["school", "year", "class_code", "subject"]
#: One question of one course's assignment.
ITEM_IN_COURSE = [*CLASS_KEY, "course", *QUESTION_COLUMNS]
#: The same question across classes: a library exercise released to several classes keeps its
#: notebook name and grade-cell ids, whatever its assignment is called in each gradebook (nbgrader
#: 0.9.6 forbids two courses of one database from sharing an assignment name).
ITEM_ACROSS_CLASSES = ["subject", "notebook", "question"]
QUANTILES = {"q10": 0.10, "q25": 0.25, "median": 0.50, "q75": 0.75, "q90": 0.90}
#: Scores closer than this are equal (nbgrader stores floats: 0.5 points, 1.25 points …).
SCORE_TOLERANCE = 1e-6


# --------------------------------------------------------------------------- reading gradebooks


#: Joins the descriptors packed into one text key (ASCII unit separator: no name contains it).
KEY_SEPARATOR = "\x1f"
#: What a submitted notebook's key holds, in order.
SUBMISSION_FIELDS = ["course", "pupil", "assignment", "notebook", "late_penalty", "due", "submitted_at"]
#: What a graded cell's key holds, in order.
CELL_FIELDS = ["question", "max_score"]


def grades_query() -> sa.Select:
    """One row per nbgrader grade: ``submission`` and ``cell`` keys, ``score``, ``graded``
    (1 manual, 0 autograder, NULL neither) and ``needs_manual_grade``.

    Written over nbgrader's own table definitions (``score`` is nbgrader's own expression), so
    neither names nor rules can drift from nbgrader's. Two things make it fast:

    - the submitted notebooks (with their assignment and pupil) and the graded cells (with their
      maximum) are materialised first, so that each grade costs two look-ups instead of seven
      (SQLite has no hash join);
    - each of them is described by one text *key* packing its descriptors (:data:`SUBMISSION_FIELDS`,
      :data:`CELL_FIELDS`), so a grade row carries five values instead of thirteen: the database
      driver's cost is per value, and the keys repeat, so they are unpacked once per distinct
      value (:func:`tidy_from_rows`).
    """
    from nbgrader import api as nb

    grade, sub_nb, sub, assignment = (nb.Grade.__table__, nb.SubmittedNotebook.__table__,
                                      nb.SubmittedAssignment.__table__, nb.Assignment.__table__)
    notebook, cell = nb.Notebook.__table__, nb.BaseCell.__table__
    grade_cell, task_cell = nb.GradeCell.__table__, nb.TaskCell.__table__
    submitted = sa.select(sub_nb.c.id, _packed(
        assignment.c.course_id, sub.c.student_id, assignment.c.name, notebook.c.name,
        sub_nb.c.late_submission_penalty, assignment.c.duedate, sub.c.timestamp).label("key"),
    ).select_from(sub_nb.join(sub, sub.c.id == sub_nb.c.assignment_id)
                  .join(assignment, assignment.c.id == sub.c.assignment_id)
                  .join(notebook, notebook.c.id == sub_nb.c.notebook_id)).cte("submitted").prefix_with("MATERIALIZED")
    graded = sa.select(cell.c.id, _packed(
        cell.c.name, sa.func.coalesce(grade_cell.c.max_score, task_cell.c.max_score)).label("key"),
    ).select_from(cell.outerjoin(grade_cell, grade_cell.c.id == cell.c.id)
                  .outerjoin(task_cell, task_cell.c.id == cell.c.id)).cte("graded").prefix_with("MATERIALIZED")
    by_hand = sa.case((grade.c.manual_score.isnot(None), 1), (grade.c.auto_score.isnot(None), 0))
    return sa.select(
        submitted.c.key.label("submission"), graded.c.key.label("cell"),
        sa.inspect(nb.Grade).columns["score"].element.label("score"), by_hand.label("graded"),
        grade.c.needs_manual_grade,
    ).select_from(grade.join(submitted, submitted.c.id == grade.c.notebook_id)
                  .join(graded, graded.c.id == grade.c.cell_id))


def _packed(*columns) -> sa.ColumnElement:
    """The columns as text joined by :data:`KEY_SEPARATOR` (NULL as empty text)."""
    parts = [sa.func.coalesce(sa.cast(c, sa.String), "") for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + KEY_SEPARATOR + part
    return key


def course_metadata(courses: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """Courses (``cartable.grading.courses.Course`` or anything with ``.school``, ``.class_code``,
    ``.subject`` and optionally ``.year``), keyed by course id, as a frame indexed by course id."""
    items = courses.items() if isinstance(courses, Mapping) else ((c.id, c) for c in courses)
    rows = {cid: {"school": c.school, "year": getattr(c, "year", None), "class_code": c.class_code,
                  "subject": c.subject} for cid, c in items}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["school", "year", "class_code", "subject"])


def read_gradebook(gradebook: str | Path | sa.Engine, courses: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """The tidy table of one gradebook (SQLite file, SQLAlchemy URL or engine).

    Only the courses in ``courses`` are kept: a shared gradebook may hold other years' or other
    sites' courses, and a row whose school is unknown could not be filtered by role.
    """
    engine, owned = _engine(gradebook)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # the materialised sub-queries and their indexes in memory, not in temporary files
                conn.exec_driver_sql("PRAGMA temp_store = MEMORY")
            raw = _fetch_frame(conn, grades_query())
    finally:
        if owned:
            engine.dispose()
    return tidy_from_rows(raw, course_metadata(courses))


def read_gradebooks(gradebooks: Iterable[str | Path | sa.Engine],
                    courses: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """The tidy tables of several gradebooks (e.g. one SQLite file per course), concatenated."""
    courses = courses if isinstance(courses, Mapping) else {c.id: c for c in courses}
    return concat_tidy([read_gradebook(g, courses) for g in gradebooks])


def _engine(gradebook: str | Path | sa.Engine) -> tuple[sa.Engine, bool]:
    if isinstance(gradebook, sa.Engine):
        return gradebook, False
    url = str(gradebook)
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    return sa.create_engine(url), True


def _fetch_frame(conn: sa.Connection, query: sa.Select, chunk: int = 250_000) -> pd.DataFrame:
    """The query's rows as columns, straight from the driver's tuples, a chunk at a time: text
    becomes categorical at once, so two million rows never live as Python tuples all together."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    cursor = conn.exec_driver_sql(str(compiled)).cursor
    names = [d[0] for d in cursor.description]
    parts: dict[str, list] = {name: [] for name in names}
    while rows := cursor.fetchmany(chunk):
        block = np.array(rows, dtype=object)
        for i, name in enumerate(names):
            values = block[:, i]
            parts[name].append(pd.Categorical(values) if name in ("submission", "cell") else _floats(values))
    cursor.close()
    columns = {}
    for name in names:
        if name in ("submission", "cell"):
            columns[name] = (pd.api.types.union_categoricals(parts[name]) if parts[name]
                             else pd.Categorical(np.array([], dtype=object)))
        else:
            columns[name] = np.concatenate(parts[name]) if parts[name] else np.array([], dtype=float)
    return pd.DataFrame(columns)


def tidy_from_rows(raw: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """The tidy table from :func:`grades_query`'s rows and :func:`course_metadata`."""
    graded = np.nan_to_num(_floats(raw["graded"]), nan=-1).astype(int)
    return tidy_table({
        **_unpack(_categorical(raw["submission"]), SUBMISSION_FIELDS),
        **_unpack(_categorical(raw["cell"]), CELL_FIELDS),
        "score": raw["score"], "needs_manual_grade": raw["needs_manual_grade"],
        "graded_by": pd.Categorical.from_codes(graded, categories=["autograder", "manual"]),
    }, metadata)


def tidy_table(columns: Mapping[str, Any], metadata: pd.DataFrame) -> pd.DataFrame:
    """The tidy table from its columns without the course's (course, pupil, assignment, notebook,
    question, score, max_score, needs_manual_grade, graded_by, late_penalty, due, submitted_at),
    joined to :func:`course_metadata`; rows of courses not in it are dropped."""
    text = {name: _categorical(columns[name]) for name in ["course", "pupil", *QUESTION_COLUMNS, "graded_by"]}
    frame = pd.DataFrame({
        **_course_columns(text["course"], metadata), **text,
        "score": _floats(columns["score"]), "max_score": _floats(columns["max_score"]),
        "needs_manual_grade": _floats(columns["needs_manual_grade"]) == 1,
        "late_penalty": np.nan_to_num(_floats(columns["late_penalty"]), nan=0.0),
        "due": _datetimes(columns["due"]), "submitted_at": _datetimes(columns["submitted_at"]),
    })
    known = frame["school"].notna().to_numpy()
    if not known.all():
        frame = _drop_unused_categories(frame[known].reset_index(drop=True))
    return frame[TIDY_COLUMNS]


def _unpack(keys: pd.Categorical, fields: list[str]) -> dict[str, pd.Categorical]:
    """Split packed keys into one categorical per field, splitting each distinct key once."""
    distinct = keys.categories.astype(object).tolist()
    parts = KEY_SEPARATOR.join(distinct).split(KEY_SEPARATOR) if distinct else []
    if len(parts) != len(distinct) * len(fields):
        raise ValueError(f"a gradebook name contains the separator {KEY_SEPARATOR!r}")
    table = np.array(parts, dtype=object).reshape(len(distinct), len(fields))
    out = {}
    for i, name in enumerate(fields):
        values = table[:, i]
        values[values == ""] = None
        out[name] = pd.Categorical(values).take(keys.codes, allow_fill=True)
    return out


def _course_columns(course: pd.Categorical, metadata: pd.DataFrame) -> dict[str, pd.Categorical]:
    """School, year, class and subject of each row, looked up once per distinct course."""
    per_category = metadata.reindex(pd.Index(course.categories, dtype=object))
    codes = course.codes
    return {name: pd.Categorical(per_category[name].to_numpy(dtype=object)).take(codes, allow_fill=True)
            for name in ("school", "year", "class_code", "subject")}


def _categorical(values: pd.Series | pd.Categorical | np.ndarray) -> pd.Categorical:
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.array
    if isinstance(values, pd.Categorical):
        return values
    return pd.Categorical(np.asarray(values, dtype=object))


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    """Numbers (or booleans) as floats, ``None`` as NaN."""
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        return values.astype(float)
    try:
        return values.astype(float)  # None becomes NaN
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _datetimes(values: pd.Series | pd.Categorical) -> np.ndarray:
    """Text or datetimes parsed once per distinct value (a due date repeats on many rows)."""
    cat = _categorical(values)
    if len(cat.categories) == 0:
        return np.full(len(cat), np.datetime64("NaT"), dtype="datetime64[us]")
    parsed = pd.to_datetime(pd.Series(cat.categories.astype(str)), format="mixed").to_numpy(dtype="datetime64[us]")
    return np.where(cat.codes >= 0, parsed[cat.codes], np.datetime64("NaT"))


def concat_tidy(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tidy tables, keeping categorical columns categorical."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        return empty_tidy()
    if len(frames) == 1:
        return frames[0]
    out = {}
    for name in frames[0].columns:
        if isinstance(frames[0][name].dtype, pd.CategoricalDtype):
            out[name] = pd.api.types.union_categoricals([f[name] for f in frames], ignore_order=True)
        else:
            out[name] = np.concatenate([f[name].to_numpy() for f in frames])
    return pd.DataFrame(out)


def empty_tidy() -> pd.DataFrame:
    """A tidy table without rows (with the right columns and types)."""
    return tidy_table({name: np.array([], dtype=object) for name in (
        "course", "pupil", *QUESTION_COLUMNS, "score", "max_score", "needs_manual_grade", "graded_by",
        "late_penalty", "due", "submitted_at")}, course_metadata({}))


def _drop_unused_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """A filtered frame must not carry other rows' names in its categories (other pupils,
    other schools): widgets built from ``.cat.categories`` would show them."""
    frame = frame.copy(deep=False)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].cat.remove_unused_categories()
    return frame


# --------------------------------------------------------------------------- comments

#: One row per comment a grader wrote on one pupil's answer (nbgrader's ``comment`` table).
COMMENT_COLUMNS = [*COURSE_COLUMNS, "pupil", *QUESTION_COLUMNS, "comment"]


def comments_query() -> sa.Select:
    """Every non-empty comment: course, pupil, assignment, notebook, question (cell name) and the
    text (nbgrader's own expression: the manual comment, else the automatic one)."""
    from nbgrader import api as nb

    comment, sub_nb, sub = nb.Comment.__table__, nb.SubmittedNotebook.__table__, nb.SubmittedAssignment.__table__
    assignment, notebook, cell = nb.Assignment.__table__, nb.Notebook.__table__, nb.BaseCell.__table__
    text = sa.inspect(nb.Comment).columns["comment"].element
    return sa.select(
        assignment.c.course_id.label("course"), sub.c.student_id.label("pupil"), assignment.c.name.label("assignment"),
        notebook.c.name.label("notebook"), cell.c.name.label("question"), text.label("comment"),
    ).select_from(comment.join(sub_nb, sub_nb.c.id == comment.c.notebook_id)
                  .join(sub, sub.c.id == sub_nb.c.assignment_id)
                  .join(assignment, assignment.c.id == sub.c.assignment_id)
                  .join(notebook, notebook.c.id == sub_nb.c.notebook_id)
                  .join(cell, cell.c.id == comment.c.cell_id)).where(text.isnot(None), text != "")


def read_comments(gradebook: str | Path | sa.Engine, courses: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """The graders' comments of one gradebook (:data:`COMMENT_COLUMNS`, text as categoricals),
    only for the courses given (as :func:`read_gradebook`)."""
    engine, owned = _engine(gradebook)
    try:
        with engine.connect() as conn:
            rows = conn.execute(comments_query()).all()
    finally:
        if owned:
            engine.dispose()
    metadata = course_metadata(courses)
    raw = pd.DataFrame(rows, columns=["course", "pupil", *QUESTION_COLUMNS, "comment"], dtype=object)
    course = _categorical(raw["course"].to_numpy(dtype=object))
    frame = pd.DataFrame({**_course_columns(course, metadata), "course": course,
                          **{name: _categorical(raw[name].to_numpy(dtype=object))
                             for name in ("pupil", *QUESTION_COLUMNS, "comment")}})
    known = frame["school"].notna().to_numpy()
    return _drop_unused_categories(frame[known].reset_index(drop=True))[COMMENT_COLUMNS]


# --------------------------------------------------------------------------- cache


def load_tidy(gradebook: str | Path | sa.Engine, courses: Mapping[str, Any] | Iterable[Any],
              cache_dir: str | Path, max_age: float = 300.0) -> pd.DataFrame:
    """:func:`read_gradebook` through an on-disk cache in ``cache_dir`` (the dashboards service's
    own folder: it holds grades, so it is created private).

    A SQLite gradebook is read again when its file (or its WAL) changes; any other database
    (PostgreSQL) when the cached copy is older than ``max_age`` seconds. A change of the courses'
    metadata is a different cache entry. The cache is ``.npz`` (NumPy arrays, loaded without
    pickle, so a tampered file cannot run code).
    """
    courses = courses if isinstance(courses, Mapping) else {c.id: c for c in courses}
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    metadata = course_metadata(courses)
    source = _source_name(gradebook)
    prefix = _digest(source)
    path = cache_dir / f"{prefix}-{_digest(source_state(source, max_age), metadata.to_csv())}.npz"
    if path.is_file():
        return read_table(path)
    table = read_gradebook(gradebook, courses)
    for stale in cache_dir.glob(f"{prefix}-*.npz"):
        stale.unlink(missing_ok=True)
    write_table(table, path)
    return table


def _source_name(gradebook: str | Path | sa.Engine) -> str:
    if isinstance(gradebook, sa.Engine):
        return gradebook.url.render_as_string(hide_password=True)
    url = str(gradebook)
    return url if "://" in url else f"sqlite:///{Path(url).resolve()}"


def source_state(source: str, max_age: float) -> str:
    """What changes when the gradebook at URL ``source`` may have: a SQLite file's (and its WAL's
    and journal's) size and time, else the clock in steps of ``max_age`` seconds, so that another
    database (PostgreSQL) is read again at most once per step. Used by :func:`load_tidy` and by the
    dashboards' ``GradeStore``."""
    url = sa.engine.make_url(source)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        files = [Path(url.database + suffix) for suffix in ("", "-wal", "-journal")]
        return repr([(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()])
    return f"{source} {int(time.time() // max_age)}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """A frame of categorical, numeric, boolean and datetime columns as ``.npz``, atomically."""
    path = Path(path)
    arrays = {"columns": np.array(list(frame.columns), dtype=str)}
    for i, name in enumerate(frame.columns):
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            arrays[f"c{i}_codes"] = column.cat.codes.to_numpy()
            arrays[f"c{i}_categories"] = np.array([str(c) for c in column.cat.categories], dtype=str)
        elif column.dtype.kind in "fiubM":
            arrays[f"c{i}_values"] = column.to_numpy()
        else:
            raise TypeError(f"column {name!r} ({column.dtype}): make text columns categorical first")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A frame written by :func:`write_table` (categories come back as text)."""
    with np.load(path, allow_pickle=False) as data:
        columns = {}
        for i, name in enumerate(data["columns"].tolist()):
            if f"c{i}_codes" in data:
                columns[name] = pd.Categorical.from_codes(data[f"c{i}_codes"],
                                                          categories=data[f"c{i}_categories"].astype(object))
            else:
                columns[name] = data[f"c{i}_values"]
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- grades /20


def assignment_scores(table: pd.DataFrame) -> pd.DataFrame:
    """One row per pupil × assignment: points, maximum, late penalty, ``score_20`` and whether
    some answer still ``pending`` manual grading.

    ``score_20`` = 20 × (points − late penalty) / maximum, clipped to [0, 20]; missing when the
    assignment has no points to earn.
    """
    key = ["course", "pupil", "assignment"]
    grouped = table.groupby(key, observed=True, sort=False)
    scores = grouped.agg(points=("score", "sum"), max_points=("max_score", "sum"),
                         pending=("needs_manual_grade", "any"), due=("due", "first"),
                         submitted_at=("submitted_at", "first"))
    scores["late_penalty"] = _late_penalties(table, key).reindex(scores.index, fill_value=0.0)
    scores = scores.reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (scores["points"] - scores["late_penalty"]) / scores["max_points"].where(scores["max_points"] > 0)
    scores["score_20"] = (20 * ratio).clip(0, 20)
    scores = _with_course_columns(scores, table)
    return scores[[*COURSE_COLUMNS, "pupil", "assignment", "points", "max_points", "late_penalty", "score_20",
                   "pending", "due", "submitted_at"]]


def _late_penalties(table: pd.DataFrame, key: list[str]) -> pd.Series:
    """nbgrader's late penalty is per submitted notebook (repeated on each of its grades)."""
    late = table.loc[table["late_penalty"] > 0, [*key, "notebook", "late_penalty"]]
    if late.empty:
        return pd.Series(dtype=float)
    per_notebook = late.groupby([*key, "notebook"], observed=True)["late_penalty"].first()
    return per_notebook.groupby(level=list(range(len(key))), observed=True).sum()


def _with_course_columns(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Add school, year, class and subject to a frame keyed by course, from the tidy table."""
    info = _course_info(table)
    looked_up = info.reindex(frame["course"].astype(object).to_numpy())
    for name in ("school", "year", "class_code", "subject"):
        values = looked_up[name].to_numpy(dtype=object)
        frame[name] = pd.Categorical(values) if isinstance(table[name].dtype, pd.CategoricalDtype) else values
    return frame


def _course_info(table: pd.DataFrame) -> pd.DataFrame:
    """school, year, class_code, subject of each course present in the table (one row each)."""
    if isinstance(table["course"].dtype, pd.CategoricalDtype):
        codes = table["course"].cat.codes.to_numpy()
        _, first_rows = np.unique(codes, return_index=True)
        first_rows = first_rows[codes[first_rows] >= 0]
        rows = table.iloc[first_rows]
    else:
        rows = table.drop_duplicates("course")
    return rows.set_index(rows["course"].astype(object))[["school", "year", "class_code", "subject"]]


def subject_averages(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per pupil × course (a class × subject): ``average_20`` is the mean of the pupil's
    ``score_20`` over the course's assignments, ``assignments`` how many were graded."""
    graded = scores[scores["score_20"].notna()]
    out = (graded.groupby(["course", "pupil"], observed=True, sort=False)["score_20"]
           .agg(average_20="mean", assignments="size").reset_index())
    out = _with_course_columns(out, scores)
    return out[[*COURSE_COLUMNS, "pupil", "average_20", "assignments"]]


def weighted_averages(scores: pd.DataFrame, coefficients: Mapping[str, float],
                      default_coefficient: float | None = 1.0) -> pd.DataFrame:
    """One row per pupil of a class: ``weighted_average_20`` = Σ coefficient × subject average /
    Σ coefficient over the subjects the pupil has grades in.

    A subject absent from ``coefficients`` weighs ``default_coefficient``; with ``None`` it is
    left out of the average.
    """
    averages = subject_averages(scores)
    subjects = averages["subject"].astype(object)
    weight = subjects.map(dict(coefficients)).astype(float)
    if default_coefficient is not None:
        weight = weight.fillna(float(default_coefficient))
    averages = averages.assign(weight=weight.to_numpy(), weighted=averages["average_20"] * weight.to_numpy())
    averages = averages[averages["weight"].notna() & (averages["weight"] > 0)]
    key = ["school", "year", "class_code", "pupil"]
    out = averages.groupby(key, observed=True, sort=True).agg(
        weighted=("weighted", "sum"), coefficients=("weight", "sum"), subjects=("subject", "nunique"))
    out["weighted_average_20"] = out["weighted"] / out["coefficients"]
    return out.reset_index()[[*key, "weighted_average_20", "coefficients", "subjects"]]


# --------------------------------------------------------------------------- distributions


def distribution(frame: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """count, mean, std (n − 1), min, q10, q25, median, q75, q90, max of ``column`` per group
    (quantiles by linear interpolation, as ``pandas.Series.quantile``)."""
    values = frame[[*by, column]].dropna(subset=[column])
    if values.empty:
        return pd.DataFrame(columns=[*by, "count", "mean", "std", "min", *QUANTILES, "max"])
    grouped = values.groupby(by, observed=True, sort=True)[column]
    stats = grouped.agg(["count", "mean", "std", "min", "max"])
    quantiles = grouped.quantile(list(QUANTILES.values())).unstack(-1)
    quantiles.columns = list(QUANTILES)
    out = stats.join(quantiles)
    return out[["count", "mean", "std", "min", *QUANTILES, "max"]].reset_index()


def class_distributions(scores: pd.DataFrame) -> pd.DataFrame:
    """Per school × class × subject: the distribution of the pupils' subject averages /20
    (``count`` is then the number of pupils with a grade)."""
    out = distribution(subject_averages(scores), CLASS_KEY, "average_20")
    return out.rename(columns={"count": "pupils", "mean": "mean_20"})


def assignment_distributions(scores: pd.DataFrame) -> pd.DataFrame:
    """Per course × assignment: the distribution of the pupils' ``score_20``."""
    out = distribution(scores, [*CLASS_KEY, "course", "assignment"], "score_20")
    return out.rename(columns={"count": "pupils", "mean": "mean_20"})


# --------------------------------------------------------------------------- items


def item_statistics(table: pd.DataFrame, item: list[str] | None = None) -> pd.DataFrame:
    """Per question (``item`` columns, default one question of one course's assignment):

    - ``pupils``: answers graded; ``max_score``: the question's maximum;
    - ``mean_score``: mean points;
    - ``difficulty``: mean of score / max_score — the proportion of the maximum obtained on
      average (1: everyone had full marks; classical test theory's *p*, higher is easier);
    - ``discrimination``: Pearson correlation, over the pupils, of the question's score with the
      pupil's *rest score* (their total on the same assignment minus this question) — the
      corrected item–total correlation, a point-biserial correlation when the question is
      scored right/wrong. Missing when either has no variance (or fewer than 2 pupils).
    """
    item = list(item or ITEM_IN_COURSE)
    score = table["score"].to_numpy(dtype=float)
    max_score = table["max_score"].to_numpy(dtype=float)
    total = table.groupby(["course", "pupil", "assignment"], observed=True, sort=False)["score"].transform("sum")
    work = table[item].assign(score=score, max_score=max_score, rest=total.to_numpy() - score,
                              share=np.divide(score, max_score, out=np.full_like(score, np.nan),
                                              where=max_score > 0))
    grouped = work.groupby(item, observed=True, sort=True)
    out = grouped.agg(pupils=("score", "size"), max_score=("max_score", "max"), mean_score=("score", "mean"),
                      difficulty=("share", "mean"))
    out["discrimination"] = _grouped_correlation(work, item, "score", "rest")
    return out.reset_index()


def _grouped_correlation(frame: pd.DataFrame, by: list[str], x: str, y: str) -> pd.Series:
    """Pearson r of x and y within each group, from centred sums (vectorised, no Python loop).
    NaN where x or y is (numerically) constant."""
    grouped = frame.groupby(by, observed=True, sort=True)
    dx = (frame[x] - grouped[x].transform("mean")).to_numpy()
    dy = (frame[y] - grouped[y].transform("mean")).to_numpy()
    sums = frame[by].assign(xy=dx * dy, xx=dx * dx, yy=dy * dy).groupby(by, observed=True, sort=True).sum()
    tiny = 1e-9
    denominator = np.sqrt(sums["xx"] * sums["yy"])
    r = sums["xy"] / denominator.where((sums["xx"] > tiny) & (sums["yy"] > tiny))
    return r.clip(-1, 1)


def difficulty_heatmap(table: pd.DataFrame, item: list[str] | None = None) -> pd.DataFrame:
    """Difficulty of each question (rows: ``item``, default subject × notebook × question) in each
    class (columns: school × class): a pivot for a heat map. Empty cells: the class did not
    have that question."""
    item = list(item or ITEM_ACROSS_CLASSES)
    return _heatmap(item_difficulty_by_class(table, item), item)


def _heatmap(difficulty: pd.DataFrame, item: list[str]) -> pd.DataFrame:
    return difficulty.pivot_table(index=item, columns=["school", "class_code"], values="difficulty",
                                  observed=True, sort=True)


def item_difficulty_by_class(table: pd.DataFrame, item: list[str] | None = None) -> pd.DataFrame:
    """Long form of :func:`difficulty_heatmap`: school, class, item, ``pupils``, ``difficulty``."""
    item = list(item or ITEM_ACROSS_CLASSES)
    key = list(dict.fromkeys(["school", "year", "class_code", *item]))
    score = table["score"].to_numpy(dtype=float)
    max_score = table["max_score"].to_numpy(dtype=float)
    share = np.divide(score, max_score, out=np.full_like(score, np.nan), where=max_score > 0)
    work = table[key].assign(share=share)
    out = work.groupby(key, observed=True, sort=True)["share"].agg(pupils="size", difficulty="mean")
    return out.reset_index()


# --------------------------------------------------------------------------- pupils at risk


def pupils_below(scores: pd.DataFrame, threshold: float = 10.0) -> pd.DataFrame:
    """Pupils whose subject average /20 (:func:`subject_averages`) is strictly below
    ``threshold``, lowest first."""
    averages = subject_averages(scores)
    below = averages[averages["average_20"] < threshold]
    return below.sort_values(["average_20", "school", "class_code", "pupil"]).reset_index(drop=True)


def pupils_falling(scores: pd.DataFrame, drop: float = 2.0) -> pd.DataFrame:
    """Pupils whose last grade /20 in a course is lower than the mean of their previous grades
    there by more than ``drop`` points (at least two graded assignments).

    Assignments are put in order by due date, then submission time, then name.
    Columns: ``last_20``, ``previous_mean_20``, ``fall`` (= previous mean − last), ``assignments``.
    """
    graded = scores[scores["score_20"].notna()]
    ordered = graded.sort_values(["course", "pupil", "due", "submitted_at", "assignment"], na_position="first")
    grouped = ordered.groupby(["course", "pupil"], observed=True, sort=False)["score_20"]
    out = grouped.agg(last_20="last", total="sum", assignments="size").reset_index()
    out = out[out["assignments"] >= 2]
    out["previous_mean_20"] = (out["total"] - out["last_20"]) / (out["assignments"] - 1)
    out["fall"] = out["previous_mean_20"] - out["last_20"]
    out = _with_course_columns(out[out["fall"] > drop].copy(), scores)
    out = out.sort_values(["fall", "pupil"], ascending=[False, True]).reset_index(drop=True)
    return out[[*COURSE_COLUMNS, "pupil", "last_20", "previous_mean_20", "fall", "assignments"]]


# --------------------------------------------------------------------------- double marking

#: The double-marking input: one row per mark one grader gave one pupil's answer to one question.
MARK_COLUMNS = ["course", "pupil", *QUESTION_COLUMNS, "grader", "score"]


def marks_from_table(table: pd.DataFrame, grader: str | Mapping[str, str]) -> pd.DataFrame:
    """The gradebook's own scores as marks (the first marking), attributed to ``grader`` (one name,
    or a name per course id — nbgrader does not record who graded)."""
    marks = table[["course", "pupil", *QUESTION_COLUMNS, "score"]].copy()
    if isinstance(grader, Mapping):
        marks["grader"] = marks["course"].astype(object).map(dict(grader)).to_numpy(dtype=object)
    else:
        marks["grader"] = grader
    return marks.dropna(subset=["grader"])[MARK_COLUMNS]


def marking_pairs(marks: pd.DataFrame, keep: list[str] | None = None) -> pd.DataFrame:
    """Every pair of different graders' marks of the same pupil's answer to the same question,
    once (``grader_a`` < ``grader_b``): columns ``grader_a``, ``score_a``, ``grader_b``, ``score_b``.
    When one grader marked an answer several times, their last row counts."""
    key = ["course", "pupil", *QUESTION_COLUMNS]
    extra = [c for c in (keep or []) if c not in key]
    marks = marks[[*key, *extra, "grader", "score"]].copy()
    for name in (*key, "grader"):
        marks[name] = marks[name].astype(object)
    marks = marks.drop_duplicates([*key, "grader"], keep="last")
    twice = marks[marks.duplicated(key, keep=False)]
    pairs = twice.merge(twice[[*key, "grader", "score"]], on=key, suffixes=("_a", "_b"))
    return pairs[pairs["grader_a"] < pairs["grader_b"]].reset_index(drop=True)


def grader_agreement(marks: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Agreement per pair of graders (and per ``by`` columns of ``marks``, e.g. ``["course"]``)
    over the answers both marked (see :data:`MARK_COLUMNS` for the input):

    - ``answers``: answers marked by both;
    - ``mean_abs_diff``: mean |score_a − score_b| in points;
    - ``exact_agreement``: share of answers given the same score;
    - ``kappa``: Cohen's kappa, each distinct score a category:
      (p_o − p_e) / (1 − p_e), p_e = Σ_k p_a(k) p_b(k); missing when p_e = 1;
    - ``correlation``: Pearson r of the two graders' scores (missing without variance).
    """
    by = list(by or [])
    pairs = marking_pairs(marks, keep=by)
    group = [*by, "grader_a", "grader_b"]
    if pairs.empty:
        return pd.DataFrame(columns=[*group, "answers", "mean_abs_diff", "exact_agreement", "kappa", "correlation"])
    pairs["score_a"] = pairs["score_a"].astype(float).round(6)
    pairs["score_b"] = pairs["score_b"].astype(float).round(6)
    pairs["abs_diff"] = (pairs["score_a"] - pairs["score_b"]).abs()
    pairs["same"] = pairs["abs_diff"] <= SCORE_TOLERANCE
    out = pairs.groupby(group, sort=True).agg(answers=("same", "size"), mean_abs_diff=("abs_diff", "mean"),
                                              exact_agreement=("same", "mean"))
    chance = _chance_agreement(pairs, group)
    out["kappa"] = (out["exact_agreement"] - chance) / (1 - chance).where(chance < 1 - 1e-12)
    out["correlation"] = _grouped_correlation(pairs, group, "score_a", "score_b")
    return out.reset_index()


def _chance_agreement(pairs: pd.DataFrame, group: list[str]) -> pd.Series:
    """p_e of Cohen's kappa per group: Σ over score values of p_a(value) × p_b(value)."""
    share_a = pairs.groupby([*group, "score_a"]).size().div(pairs.groupby(group).size()).rename("p_a")
    share_b = pairs.groupby([*group, "score_b"]).size().div(pairs.groupby(group).size()).rename("p_b")
    share_a.index = share_a.index.set_names([*group, "value"])
    share_b.index = share_b.index.set_names([*group, "value"])
    both = pd.concat([share_a, share_b], axis=1, join="inner")
    chance = (both["p_a"] * both["p_b"]).groupby(level=list(range(len(group)))).sum()
    return chance.reindex(pairs.groupby(group).size().index, fill_value=0.0)


# --------------------------------------------------------------------------- role filters


def for_pupil(frame: pd.DataFrame, username: str) -> pd.DataFrame:
    """A pupil's own rows only."""
    return _keep(frame, _where(frame["pupil"], lambda names: names == username))


def for_teacher(frame: pd.DataFrame, courses: Iterable[Any]) -> pd.DataFrame:
    """The rows of the teacher's courses (course ids or ``Course`` objects)."""
    ids = {c if isinstance(c, str) else c.id for c in courses}
    return _keep(frame, _where(frame["course"], lambda names: names.isin(ids)))


def for_director(frame: pd.DataFrame, school: str) -> pd.DataFrame:
    """The rows of the director's school."""
    return _keep(frame, _where(frame["school"], lambda names: names == school))


def for_inspector(frame: pd.DataFrame, assignments: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """The rows of the (school, subject) pairs an inspector is assigned; subject ``"*"`` stands
    for every subject of that school (as :class:`~cartable.core.db.Inspection` rows)."""
    school, subject = _categorical(frame["school"]), _categorical(frame["subject"])
    schools = pd.Index(school.categories, dtype=object)
    subjects = pd.Index(subject.categories, dtype=object)
    allowed = np.zeros((len(schools) + 1, len(subjects) + 1), dtype=bool)  # last row, column: missing
    for school_name, subject_name in set(assignments):
        i = schools.get_indexer([school_name])[0]
        if i < 0:
            continue
        if subject_name == "*":
            allowed[i, :-1] = True
        elif (j := subjects.get_indexer([subject_name])[0]) >= 0:
            allowed[i, j] = True
    return _keep(frame, allowed[school.codes, subject.codes])


def _where(column: pd.Series, test) -> np.ndarray:
    """``test`` (on an Index of values → booleans) applied to each row's value; with a
    categorical column it runs once per distinct value. Missing values never pass."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        passing = np.append(np.asarray(test(pd.Index(column.cat.categories, dtype=object)), dtype=bool), False)
        return passing[codes]  # code -1 (missing) picks the appended False
    values = pd.Index(column.to_numpy(dtype=object), dtype=object)
    return np.asarray(test(values), dtype=bool) & column.notna().to_numpy()


def _keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    kept = frame.copy(deep=False) if mask.all() else frame[mask].reset_index(drop=True)
    return _drop_unused_categories(kept)


@dataclass
class InspectorView:
    """What an inspector's dashboard shows, computed from the rows they may see only."""

    classes: pd.DataFrame      #: per school × class × subject: pupils, mean_20, std, min, quantiles, max
    difficulty: pd.DataFrame   #: per school × class × question: pupils, difficulty (long form)
    heatmap: pd.DataFrame      #: difficulty pivot: question rows × (school, class) columns


def inspector_view(table: pd.DataFrame, assignments: Iterable[tuple[str, str]],
                   item: list[str] | None = None) -> InspectorView:
    """Filter to the inspector's schools and subjects first, then aggregate."""
    rows = for_inspector(table, assignments)
    item = list(item or ITEM_ACROSS_CLASSES)
    difficulty = item_difficulty_by_class(rows, item)
    return InspectorView(classes=class_distributions(assignment_scores(rows)), difficulty=difficulty,
                         heatmap=_heatmap(difficulty, item))


# --------------------------------------------------------------------------- exports

#: Text a spreadsheet would run as a formula (OWASP "CSV injection"): prefixed with ``'``.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as a plain table: index levels become columns, column levels are joined by " / "."""
    out = frame
    if isinstance(out.columns, pd.MultiIndex):
        out = out.copy()
        out.columns = [" / ".join(str(p) for p in col if str(p) != "") for col in out.columns]
    if not isinstance(out.index, pd.RangeIndex) or out.index.name is not None:
        out = out.reset_index()
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting like a formula get a leading ``'`` so a spreadsheet shows them as text."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cats = column.cat.categories
            escaped = _escape_text(pd.Series(cats, dtype=object))
            if escaped.is_unique:  # once per distinct value
                out[name] = column.cat.rename_categories(escaped.to_numpy())
            else:  # "=x" and "'=x" both there
                out[name] = _escape_text(column.astype(object))
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out[name] = _escape_text(column.astype(object))
    return out


def _escape_text(values: pd.Series) -> pd.Series:
    is_text = values.map(lambda v: isinstance(v, str))
    risky = is_text & values.where(is_text, "").astype(str).str.startswith(FORMULA_STARTS)
    return values.where(~risky, "'" + values.where(risky, "").astype(str))


def to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame as UTF-8 CSV with a byte-order mark (so that Excel shows Arabic correctly)."""
    path = Path(path)
    neutralise_formulas(flat(frame)).to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S")
    return path


def to_xlsx(frames: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write one frame, or several as named sheets, to an XLSX workbook (openpyxl)."""
    path = Path(path)
    sheets = {"data": frames} if isinstance(frames, pd.DataFrame) else dict(frames)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = neutralise_formulas(flat(frame))
            if len(table) + 1 > XLSX_MAX_ROWS:
                raise ValueError(f"sheet {name!r}: {len(table)} rows do not fit in a spreadsheet "
                                 f"({XLSX_MAX_ROWS - 1} at most); export it as CSV")
            table.to_excel(writer, sheet_name=_sheet_name(name), index=False)
    return path


def _sheet_name(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(name)).strip("'")
    return (cleaned or "data")[:31]
