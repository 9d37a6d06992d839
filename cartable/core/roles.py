"""JupyterHub RBAC for a school: custom scopes, roles, and the groups they are bound to.

Groups mirror the school structure and are the only thing that changes when the
roster changes; roles are static and bound to the role groups, so adding a class
or a pupil never needs a hub restart.

- ``school:<code>``: everyone of a school;
- ``class:<school>:<class>``: the pupils of a class (current school year);
- ``course:<course id>``: the teachers of one class × subject (one nbgrader course);
- ``inspect:<school>:<subject>``: the inspectors of a subject in a school;
- ``role:<role>``: everyone with that role, which carries the role's scopes.
"""

from __future__ import annotations

import re

from cartable.core.i18n import _

CUSTOM_SCOPES = {
    "custom:cartable:learn": {
        "description": "Use Cartable as a pupil: own classes' lessons and assignments, own submissions, feedback and grades.",
    },
    "custom:cartable:teach": {
        "description": "Author, release, collect and grade in the courses one teaches; see those classes' dashboards.",
    },
    "custom:cartable:manage-school": {
        "description": "Manage one's own school's roster, accounts, password resets and credential slips.",
    },
    "custom:cartable:inspect": {
        "description": "Read dashboards of the schools and subjects one is assigned to inspect.",
    },
}

ROLE_GROUP = {role: f"role:{role}" for role in ("pupil", "teacher", "director", "inspector")}

# Each role keeps JupyterHub's default 'self' (own server, own tokens) and adds its
# Cartable scope. None of them grants access to another user's server.
ROLE_SCOPES = {
    "pupil": ["self", "custom:cartable:learn"],
    "teacher": ["self", "custom:cartable:teach", "read:groups:name"],
    "director": ["self", "custom:cartable:manage-school", "read:groups:name"],
    "inspector": ["self", "custom:cartable:inspect", "read:groups:name"],
}

ROLE_NAMES = {
    "pupil": _("pupil"),
    "teacher": _("teacher"),
    "director": _("director"),
    "inspector": _("inspector"),
    "admin": _("administrator"),
}


def load_roles(service_roles: list[dict] | None = None) -> list[dict]:
    """The value of ``JupyterHub.load_roles``."""
    roles = [
        {
            "name": f"cartable-{role}",
            "description": f"Cartable {role}",
            "scopes": scopes,
            "groups": [ROLE_GROUP[role]],
        }
        for role, scopes in ROLE_SCOPES.items()
    ]
    return roles + list(service_roles or [])


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")


def school_group(school: str) -> str:
    return f"school:{school}"


def class_group(school: str, class_code: str) -> str:
    return f"class:{school}:{class_code}"


def course_id(school: str, year: str, class_code: str, subject: str) -> str:
    """The nbgrader course id of one class × subject × year, e.g. ``LYC1-2026-2BSM1-maths``."""
    return "-".join(_slug(p) for p in (school, year[:4], class_code, subject)).lower()


def course_group(course: str) -> str:
    return f"course:{course}"


def inspect_group(school: str, subject: str) -> str:
    return f"inspect:{school}:{subject}"


def describe_groups(groups) -> dict[str, list[dict]]:
    """A user's Hub groups sorted for the home page: classes, courses, inspections, role."""
    out: dict[str, list[dict]] = {"classes": [], "courses": [], "inspections": [], "roles": []}
    for g in groups:
        props = dict(getattr(g, "properties", None) or {})
        name = g.name
        if name.startswith("class:"):
            out["classes"].append({"name": name, **props})
        elif name.startswith("course:"):
            out["courses"].append({"name": name, **props})
        elif name.startswith("inspect:"):
            out["inspections"].append({"name": name, **props})
        elif name.startswith("role:"):
            out["roles"].append({"name": name, "role": name.split(":", 1)[1]})
    for items in out.values():
        items.sort(key=lambda d: d["name"])
    return out
