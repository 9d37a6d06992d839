"""Who sees what on the dashboards: the viewer from the Hub's model of their token, the
dashboards each role may open, and the rows of a table a viewer may see on one of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from cartable.core import roles
from cartable.core.i18n import _
from cartable.grading import analytics as an

#: The dashboards, by URL name: who may open each (roles), and its title.
DASHBOARDS = {
    "progress": {"roles": ("pupil",), "title": _("My progress")},
    "class": {"roles": ("teacher", "admin"), "title": _("My classes")},
    "school": {"roles": ("director", "admin"), "title": _("My school")},
    "inspection": {"roles": ("inspector", "admin"), "title": _("Inspection")},
}


@dataclass
class Viewer:
    """What one viewer may see, from their Hub identity."""

    username: str
    role: str | None
    courses: set[str] = field(default_factory=set)          # teacher: course ids (course:<id> groups)
    schools: set[str] = field(default_factory=set)          # director: school codes (school:<code>)
    inspections: set[tuple[str, str]] = field(default_factory=set)  # inspector: (school, subject or "*")
    classes: set[tuple[str, str]] = field(default_factory=set)      # pupil: (school, class)

    def may_open(self, dashboard: str) -> bool:
        return dashboard in DASHBOARDS and self.role in DASHBOARDS[dashboard]["roles"]

    @property
    def dashboards(self) -> list[str]:
        return [d for d in DASHBOARDS if self.may_open(d)]


def viewer_from_model(model: dict, admins: Iterable[str] = ()) -> Viewer:
    """A :class:`Viewer` from the Hub's model of the viewer's token.

    The role is the ``role:<role>`` group **and** the role's custom scope in the token; an
    administrator (``auth.admins``) sees every school. Nothing comes from the request.
    """
    name = model["name"]
    if name in set(admins):
        return Viewer(name, "admin")
    ident = roles.Identity.from_model({**model, "admin": False})
    role = ident.role_in_token()
    v = Viewer(name, role)
    if role == "teacher":
        v.courses = set(ident.courses)
    elif role == "director":
        v.schools = set(ident.schools)
    elif role == "inspector":
        v.inspections = set(ident.inspections)
    elif role == "pupil":
        v.classes = set(ident.classes)
    return v


def visible_rows(frame: pd.DataFrame, viewer: Viewer, dashboard: str) -> pd.DataFrame:
    """The rows of ``frame`` (tidy table, comments, roster …) ``viewer`` may see on ``dashboard``;
    an empty frame when they may not open it."""
    if not viewer.may_open(dashboard) or frame.empty:
        return _nothing(frame)
    if viewer.role == "admin":
        return frame
    if dashboard == "progress":
        return an.for_pupil(frame, viewer.username)
    if dashboard == "class":
        return an.for_teacher(frame, viewer.courses)
    if dashboard == "school":
        return an.concat_tidy([an.for_director(frame, s) for s in sorted(viewer.schools)]) if viewer.schools \
            else _nothing(frame)
    if dashboard == "inspection":
        return an.for_inspector(frame, viewer.inspections)
    return _nothing(frame)


def _nothing(frame: pd.DataFrame) -> pd.DataFrame:
    """No rows, and no names left in the categories either."""
    return an._drop_unused_categories(frame.iloc[0:0])

