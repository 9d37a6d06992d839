"""The dashboards themselves, in the kernel Voilà starts for a page: :func:`show` reads the bundle
the service wrote for that page (:class:`Page`) and displays the dashboard: widgets, matplotlib
plots, HTML tables in which every text is escaped."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cartable.core.i18n import _, direction, gettext_for, normalize
from cartable.grading import analytics as an
from cartable.grading.dashboards.access import DASHBOARDS
from cartable.grading.dashboards.data import VIEW_ENV

#: A question the class "failed": mean share of the points below this.
FAILED_BELOW = 0.5
AT_RISK_BELOW = 10.0


def esc(value) -> str:
    """Any value as HTML text (pupils' names, comments, ids: never markup)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def fmt20(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1f}"


def html_table(frame: pd.DataFrame, headers: dict[str, str], empty: str) -> str:
    """A small HTML table of ``frame``'s columns in ``headers`` (column → translated heading);
    every cell is escaped."""
    if frame.empty:
        return f"<p class='cartable-empty'>{esc(empty)}</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers.values())
    body = []
    for row in frame[list(headers)].itertuples(index=False):
        cells = "".join(f"<td>{fmt20(v) if isinstance(v, float) else esc(v)}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table class='cartable-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


STYLE = """<style>
.cartable-dash { font-family: 'DejaVu Sans', sans-serif; }
.cartable-dash[dir=rtl] { direction: rtl; text-align: right; }
.cartable-table { border-collapse: collapse; margin: 0.5em 0; }
.cartable-table th, .cartable-table td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
.cartable-table th { background: #eef2f7; }
.cartable-empty { color: #666; font-style: italic; }
</style>"""


class Page:
    """One dashboard page in the kernel: the bundle written by the service, the language."""

    def __init__(self, folder: str | Path | None = None):
        folder = folder or os.environ.get(VIEW_ENV)
        if not folder:
            raise RuntimeError("no dashboard data: this notebook runs only in the dashboards service")
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "viewer.json").read_text(encoding="utf-8"))
        self.lang = normalize(self.meta.get("lang"))
        self.dir = direction(self.lang)
        self.t = gettext_for(self.lang)

    def table(self, name: str) -> pd.DataFrame:
        path = self.folder / f"{name}.npz"
        return an.read_table(path) if path.exists() else pd.DataFrame()

    def html(self, body: str):
        import ipywidgets as w

        return w.HTML(f"<div class='cartable-dash' dir='{self.dir}' lang='{self.lang}'>{body}</div>")

    def heading(self, text: str, level: int = 3):
        return self.html(f"<h{level}>{esc(text)}</h{level}>")

    def figure_output(self, draw):
        """The matplotlib figure ``draw(fig)`` fills, as a PNG image widget (no text of the figure
        reaches the page as markup); an empty box when ``draw`` returns False."""
        import io

        import ipywidgets as w
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.2), dpi=90)
        if draw(fig) is False:
            return w.Box()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        width, _height = fig.get_size_inches() * fig.dpi
        return w.Image(value=buf.getvalue(), format="png", width=str(int(width)),
                       layout=w.Layout(max_width="100%", height="auto"))

    def dropdown(self, options: list[tuple[str, object]], label: str):
        import ipywidgets as w

        return w.Dropdown(options=options, description=label, style={"description_width": "initial"},
                          layout=w.Layout(width="max-content", min_width="12em"))


def show(dashboard: str, folder: str | Path | None = None):
    """Display ``dashboard`` from the service's bundle (called by the dashboard notebooks)."""
    from IPython.display import HTML, display

    page = Page(folder)
    if page.meta.get("dashboard") != dashboard:
        raise RuntimeError("the dashboard data was prepared for another dashboard")
    display(HTML(STYLE))
    view = {"progress": progress_view, "class": class_view, "school": school_view,
            "inspection": inspection_view}[dashboard](page)
    display(view)
    return view


def _title(page: Page, dashboard: str) -> str:
    name = page.meta.get("school_name") or ""
    title = page.t(DASHBOARDS[dashboard]["title"])
    return f"{title} — {name}" if name else title


def _chapters(scores: pd.DataFrame) -> pd.Series:
    """The chapter of each assignment: the catalogue entry whose id is the assignment's (or its
    notebook's) name, else the assignment's own name."""
    try:
        from cartable.core.catalogue import load

        entries = {e.id: e.chapter for e in load(check_files=False)}
    except Exception:  # no catalogue: chapters are the assignments
        entries = {}
    return scores["assignment"].astype(str).map(lambda a: entries.get(a, a))


def progress_view(page: Page):
    """A pupil's own grades: per subject, each assignment /20 over time, the chapters, comments."""
    import ipywidgets as w

    t = page.t
    rows = page.table("rows")
    comments = page.table("comments")
    header = page.heading(_title(page, "progress"), 2)
    if rows.empty:
        return w.VBox([header, page.html(f"<p class='cartable-empty'>{esc(t(_('No graded work yet.')))}</p>")])
    scores = an.assignment_scores(rows)
    scores["chapter"] = _chapters(scores).to_numpy()
    subjects = sorted(scores["subject"].astype(str).unique())
    choice = page.dropdown([(s, s) for s in subjects], t(_("Subject")))
    body = w.VBox()

    def render(*_args):
        mine = scores[scores["subject"].astype(str) == choice.value].sort_values(["due", "submitted_at", "assignment"])
        average = mine["score_20"].mean()

        def draw(fig):
            ax = fig.add_subplot()
            ax.plot(range(len(mine)), mine["score_20"], marker="o", color="#1f77b4")
            ax.axhline(10, color="#d62728", linestyle="--", linewidth=1)
            ax.set_xticks(range(len(mine)), mine["assignment"].astype(str), rotation=30, ha="right")
            ax.set_ylim(0, 20)
            ax.set_ylabel("/20")
            ax.grid(axis="y", alpha=0.3)

        per_chapter = mine.groupby("chapter", sort=True)["score_20"].agg(["mean", "size"]).reset_index()
        mine_comments = comments[comments["subject"].astype(str) == choice.value] if not comments.empty else comments
        _close(body)
        body.children = [
            page.html(f"<p>{esc(t(_('Average in this subject: {avg} / 20')).format(avg=fmt20(average)))}</p>"),
            page.figure_output(draw),
            page.heading(t(_("By chapter"))),
            page.html(html_table(per_chapter, {"chapter": t(_("Chapter")), "mean": t(_("Average /20")),
                                               "size": t(_("Assignments"))}, t(_("No graded work yet.")))),
            page.heading(t(_("Teachers' comments"))),
            page.html(html_table(mine_comments, {"assignment": t(_("Assignment")), "question": t(_("Question")),
                                                 "comment": t(_("Comment"))}, t(_("No comment.")))),
        ]

    choice.observe(render, "value")
    render()
    return w.VBox([header, choice, body])


def _close(box) -> None:
    """Close the widgets a re-render replaces (their models leave the kernel and the page)."""
    for child in box.children:
        child.close()


def _names(roster: pd.DataFrame, lang: str) -> dict[str, str]:
    if roster.empty:
        return {}
    names = {}
    for pupil, name, name_ar in roster[["pupil", "name", "name_ar"]].astype(object).itertuples(index=False):
        names[str(pupil)] = (name_ar if lang == "ar" and isinstance(name_ar, str) and name_ar else name) or str(pupil)
    return names


def class_view(page: Page):
    """A teacher's classes: who submitted, distributions per assignment and question, questions the
    class failed, pupils at risk, comments."""
    import ipywidgets as w

    t = page.t
    rows, roster, comments = page.table("rows"), page.table("roster"), page.table("comments")
    header = page.heading(_title(page, "class"), 2)
    courses = sorted(set(roster["course"].astype(str)) | set(rows["course"].astype(str))) if not (
        roster.empty and rows.empty) else []
    if not courses:
        return w.VBox([header, page.html(f"<p class='cartable-empty'>{esc(t(_('No class to show.')))}</p>")])
    label = {}
    for frame in (roster, rows):
        if not frame.empty:
            for c, k, s in frame[["course", "class_code", "subject"]].astype(str).drop_duplicates().itertuples(index=False):
                label[c] = f"{k} — {s}"
    names = _names(roster, page.lang)
    course_box = page.dropdown([(label.get(c, c), c) for c in courses], t(_("Class")))
    assignment_box = page.dropdown([], t(_("Assignment")))
    body = w.VBox()
    scores_all = an.assignment_scores(rows) if not rows.empty else None

    def assignments_of(course):
        if rows.empty:
            return []
        mine = rows[rows["course"].astype(str) == course]
        order = mine.groupby("assignment", observed=True)["due"].first().sort_values(na_position="last")
        return [str(a) for a in order.index]

    def on_course(*_args):
        options = assignments_of(course_box.value)
        assignment_box.unobserve(render, "value")
        assignment_box.options = [(a, a) for a in options]
        assignment_box.value = options[-1] if options else None
        assignment_box.observe(render, "value")
        render()

    def render(*_args):
        course, assignment = course_box.value, assignment_box.value
        pupils = roster[roster["course"].astype(str) == course]["pupil"].astype(str).tolist() if not roster.empty else []
        parts = []
        if assignment is None:
            parts.append(page.html(f"<p class='cartable-empty'>{esc(t(_('No graded work yet.')))}</p>"))
        else:
            mine = rows[(rows["course"].astype(str) == course) & (rows["assignment"].astype(str) == assignment)]
            scores = an.assignment_scores(mine)
            submitted = dict(zip(scores["pupil"].astype(str), scores["score_20"]))
            when = dict(zip(scores["pupil"].astype(str), scores["submitted_at"]))
            everyone = sorted(set(pupils) | set(submitted), key=lambda p: names.get(p, p))
            who = pd.DataFrame({
                "name": [names.get(p, p) for p in everyone],
                "state": [t(_("submitted")) if p in submitted else t(_("not submitted")) for p in everyone],
                "when": [pd.Timestamp(when[p]).strftime("%Y-%m-%d %H:%M") if p in when and pd.notna(when[p]) else ""
                         for p in everyone],
                "score": [float(submitted[p]) if p in submitted else np.nan for p in everyone],
            })
            parts.append(page.heading(t(_("Who submitted: {n} of {total}")).format(n=len(submitted), total=len(everyone))))
            parts.append(page.html(html_table(who, {"name": t(_("Pupil")), "state": t(_("State")), "when": t(_("Submitted at")),
                                                    "score": t(_("Grade /20"))}, t(_("No pupil.")))))
            parts.append(page.heading(t(_("Distribution of the grades /20"))))

            def hist(fig):
                ax = fig.add_subplot()
                ax.hist(scores["score_20"].dropna(), bins=range(0, 21), color="#4c72b0", edgecolor="white")
                ax.axvline(10, color="#d62728", linestyle="--", linewidth=1)
                ax.set_xlim(0, 20)
                ax.set_xlabel("/20")

            parts.append(page.figure_output(hist))
            items = an.item_statistics(mine)
            parts.append(page.heading(t(_("Each question: share of the points"))))

            def boxes(fig):
                share = mine.assign(share=mine["score"] / mine["max_score"].where(mine["max_score"] > 0))
                questions = sorted(share["question"].astype(str).unique())
                data = [share.loc[share["question"].astype(str) == q, "share"].dropna() for q in questions]
                ax = fig.add_subplot()
                ax.boxplot(data, tick_labels=questions)
                ax.set_ylim(-0.05, 1.05)
                ax.tick_params(axis="x", rotation=30)

            parts.append(page.figure_output(boxes))
            failed = items[items["difficulty"] < FAILED_BELOW].sort_values("difficulty")
            parts.append(page.heading(t(_("Questions the class failed (less than half the points on average)"))))
            parts.append(page.html(html_table(
                failed.assign(percent=(failed["difficulty"] * 100).round(0).astype(int).astype(str) + " %"),
                {"notebook": t(_("Notebook")), "question": t(_("Question")), "percent": t(_("Points obtained")),
                 "pupils": t(_("Pupils"))}, t(_("No question failed.")))))
        if scores_all is not None:
            course_scores = scores_all[scores_all["course"].astype(str) == course]
            below = an.pupils_below(course_scores, AT_RISK_BELOW)
            falling = an.pupils_falling(course_scores)
            risk = pd.DataFrame({
                "name": [names.get(str(p), str(p)) for p in below["pupil"]] + [names.get(str(p), str(p)) for p in falling["pupil"]],
                "why": [t(_("average {avg} / 20")).format(avg=fmt20(a)) for a in below["average_20"]]
                + [t(_("fell by {fall} points")).format(fall=fmt20(f)) for f in falling["fall"]],
            })
            parts.append(page.heading(t(_("Pupils at risk"))))
            parts.append(page.html(html_table(risk, {"name": t(_("Pupil")), "why": t(_("Why"))}, t(_("No pupil at risk.")))))
        if not comments.empty:
            mine_c = comments[comments["course"].astype(str) == course]
            if assignment is not None:
                mine_c = mine_c[mine_c["assignment"].astype(str) == assignment]
            mine_c = mine_c.assign(name=[names.get(str(p), str(p)) for p in mine_c["pupil"]])
            parts.append(page.heading(t(_("Comments"))))
            parts.append(page.html(html_table(mine_c, {"name": t(_("Pupil")), "question": t(_("Question")),
                                                       "comment": t(_("Comment"))}, t(_("No comment.")))))
        _close(body)
        body.children = parts

    course_box.observe(on_course, "value")
    assignment_box.observe(render, "value")
    on_course()
    return w.VBox([header, w.HBox([course_box, assignment_box]), body])


def _class_boxplot(page: Page, averages: pd.DataFrame):
    """Box plots of the pupils' subject averages /20, one box per class."""
    def draw(fig):
        if averages.empty:
            return False
        keys = averages[["school", "class_code"]].astype(str).drop_duplicates().sort_values(["school", "class_code"])
        labels, data = [], []
        for school, klass in keys.itertuples(index=False):
            sel = (averages["school"].astype(str) == school) & (averages["class_code"].astype(str) == klass)
            data.append(averages.loc[sel, "average_20"].dropna())
            labels.append(f"{school}\n{klass}" if keys["school"].nunique() > 1 else klass)
        ax = fig.add_subplot()
        ax.boxplot(data, tick_labels=labels)
        ax.axhline(10, color="#d62728", linestyle="--", linewidth=1)
        ax.set_ylim(0, 20)
        ax.set_ylabel("/20")
        ax.tick_params(axis="x", labelsize=8)
    return page.figure_output(draw)


def _heatmap(page: Page, rows: pd.DataFrame):
    """Heat map of difficulty (share of the points), question × class."""
    def draw(fig):
        if rows.empty:
            return False
        pivot = an.difficulty_heatmap(rows, ["notebook", "question"])
        ax = fig.add_subplot()
        values = pivot.to_numpy(dtype=float)
        image = ax.imshow(values, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        if values.size <= 300:  # small enough to print each share in its cell
            for (i, j), v in np.ndenumerate(values):
                if not np.isnan(v):
                    ax.text(j, i, f"{v * 100:.0f} %", ha="center", va="center", fontsize=7)
        ax.set_yticks(range(len(pivot.index)), [f"{n} · {q}" for n, q in pivot.index], fontsize=8)
        ax.set_xticks(range(len(pivot.columns)), [f"{s}\n{k}" for s, k in pivot.columns], fontsize=8)
        fig.colorbar(image, ax=ax, fraction=0.04)
        fig.set_size_inches(7, max(2.5, 0.35 * len(pivot.index) + 1))
    return page.figure_output(draw)


def school_view(page: Page):
    """A director's school: per subject, box plots per class, heat map question × class, pupils at risk."""
    import ipywidgets as w

    t = page.t
    rows, roster = page.table("rows"), page.table("roster")
    header = page.heading(_title(page, "school"), 2)
    if rows.empty:
        return w.VBox([header, page.html(f"<p class='cartable-empty'>{esc(t(_('No graded work yet.')))}</p>")])
    names = _names(roster, page.lang)
    scores = an.assignment_scores(rows)
    subjects = sorted(rows["subject"].astype(str).unique())
    choice = page.dropdown([(s, s) for s in subjects], t(_("Subject")))
    body = w.VBox()

    def render(*_args):
        sub_rows = rows[rows["subject"].astype(str) == choice.value]
        sub_scores = scores[scores["subject"].astype(str) == choice.value]
        classes = an.class_distributions(sub_scores)
        below = an.pupils_below(sub_scores, AT_RISK_BELOW)
        below = below.assign(name=[names.get(str(p), str(p)) for p in below["pupil"]])
        _close(body)
        body.children = [
            page.heading(t(_("Averages /20 per class"))),
            _class_boxplot(page, an.subject_averages(sub_scores)),
            page.html(html_table(classes, {"school": t(_("School")), "class_code": t(_("Class")), "pupils": t(_("Pupils")), "mean_20": t(_("Average /20")),
                                           "median": t(_("Median")), "min": t(_("Lowest")), "max": t(_("Highest"))},
                                 t(_("No graded work yet.")))),
            page.heading(t(_("Questions × classes: share of the points"))),
            _heatmap(page, sub_rows),
            page.heading(t(_("Pupils at risk"))),
            page.html(html_table(below, {"name": t(_("Pupil")), "class_code": t(_("Class")), "average_20": t(_("Average /20"))},
                                 t(_("No pupil at risk.")))),
        ]

    choice.observe(render, "value")
    render()
    return w.VBox([header, choice, body])


def inspection_view(page: Page):
    """An inspector's schools and subjects: classes compared (box plots, table), heat map, graders."""
    import ipywidgets as w

    t = page.t
    rows = page.table("rows")
    header = page.heading(_title(page, "inspection"), 2)
    if rows.empty:
        return w.VBox([header, page.html(f"<p class='cartable-empty'>{esc(t(_('No graded work yet.')))}</p>")])
    scores = an.assignment_scores(rows)
    subjects = sorted(rows["subject"].astype(str).unique())
    choice = page.dropdown([(s, s) for s in subjects], t(_("Subject")))
    body = w.VBox()

    def render(*_args):
        sub_rows = rows[rows["subject"].astype(str) == choice.value]
        sub_scores = scores[scores["subject"].astype(str) == choice.value]
        view = an.inspector_view(sub_rows, {(str(s), "*") for s in sub_rows["school"].unique()})
        graded = sub_rows.assign(manual=(sub_rows["graded_by"].astype(object) == "manual"))
        graders = graded.groupby(["school", "class_code"], observed=True).agg(
            answers=("score", "size"), manual=("manual", "mean")).reset_index()
        graders = graders.merge(view.classes[["school", "class_code", "mean_20", "std"]], on=["school", "class_code"])
        graders["manual"] = (graders["manual"] * 100).round(0).astype(int).astype(str) + " %"
        _close(body)
        body.children = [
            page.heading(t(_("Classes compared: averages /20"))),
            _class_boxplot(page, an.subject_averages(sub_scores)),
            page.html(html_table(view.classes, {"school": t(_("School")), "class_code": t(_("Class")), "pupils": t(_("Pupils")),
                                                "mean_20": t(_("Average /20")), "std": t(_("Standard deviation")),
                                                "q25": t(_("First quartile")), "q75": t(_("Third quartile"))},
                                 t(_("No graded work yet.")))),
            page.heading(t(_("Questions × classes: share of the points"))),
            _heatmap(page, sub_rows),
            page.heading(t(_("Grading compared between classes"))),
            page.html(html_table(graders, {"school": t(_("School")), "class_code": t(_("Class")), "answers": t(_("Answers")),
                                           "manual": t(_("Graded by hand")), "mean_20": t(_("Average /20")),
                                           "std": t(_("Standard deviation"))}, t(_("No graded work yet.")))),
        ]

    choice.observe(render, "value")
    render()
    return w.VBox([header, choice, body])
