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
from dataclasses import dataclass, field

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

# The one shape of role scopes: each role's list of scopes. Each role keeps JupyterHub's default
# 'self' (own server, own tokens) and adds its Cartable scope (one ``custom:cartable:*`` each,
# :func:`cartable_scope`). None of them grants access to another user's server.
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


def cartable_scope(role: str) -> str | None:
    """The role's own Cartable scope (``custom:cartable:…``) among :data:`ROLE_SCOPES`."""
    return next((s for s in ROLE_SCOPES.get(role, ()) if s in CUSTOM_SCOPES), None)


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


#: The kinds of group Cartable makes (``<kind>:…``); the roster sync manages these only.
GROUP_KINDS = ("school", "class", "course", "inspect", "role")


@dataclass(frozen=True)
class GroupName:
    """What a Cartable group's name says: its kind and the parts named by it.

    ``school:<school>``, ``class:<school>:<class>``, ``course:<course id>``,
    ``inspect:<school>:<subject>`` (subject ``*``: every subject), ``role:<role>``."""

    name: str
    kind: str
    school: str = ""
    klass: str = ""
    course: str = ""
    subject: str = ""
    role: str = ""


def parse_group(name: str) -> GroupName | None:
    """The one parser of group names; None for a group that is not Cartable's (or malformed:
    a class or an inspection without its school)."""
    kind, sep, rest = str(name).partition(":")
    if not sep or kind not in GROUP_KINDS:
        return None
    if kind == "school":
        return GroupName(name, kind, school=rest)
    if kind == "course":
        return GroupName(name, kind, course=rest)
    if kind == "role":
        return GroupName(name, kind, role=rest)
    if ":" not in rest:
        return None
    school, second = rest.split(":", 1)
    if kind == "class":
        return GroupName(name, kind, school=school, klass=second)
    return GroupName(name, kind, school=school, subject=second)


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Identity:
    """Who a user is for Cartable, from their Hub groups (in the groups' order): their role
    groups, schools, classes, courses and inspections. The Hub's user or token model gives it
    (:meth:`from_model`); nothing comes from a request."""

    username: str
    admin: bool = False
    roles: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    classes: tuple[tuple[str, str], ...] = ()        # (school, class code)
    courses: tuple[str, ...] = ()                    # course ids
    inspections: tuple[tuple[str, str], ...] = ()    # (school, subject or "*")
    groups: tuple[GroupName, ...] = ()
    scopes: frozenset = field(default_factory=frozenset)

    @classmethod
    def from_groups(cls, username: str, groups, admin: bool = False, scopes=None) -> Identity:
        parsed = [p for p in (parse_group(g) for g in groups or ()) if p is not None]
        of = {k: [p for p in parsed if p.kind == k] for k in GROUP_KINDS}
        return cls(username=username, admin=bool(admin),
                   roles=_unique(p.role for p in of["role"]),
                   schools=_unique(p.school for p in of["school"]),
                   classes=_unique((p.school, p.klass) for p in of["class"]),
                   courses=_unique(p.course for p in of["course"]),
                   inspections=_unique((p.school, p.subject) for p in of["inspect"]),
                   groups=tuple(parsed), scopes=frozenset(scopes or ()))

    @classmethod
    def from_model(cls, model: dict) -> Identity:
        """From the Hub's model of a user (``name``, ``admin``, ``groups``) or of a token's owner
        (with its ``scopes``)."""
        return cls.from_groups(model["name"], model.get("groups") or [], bool(model.get("admin")),
                               model.get("scopes"))

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def role_in_token(self) -> str | None:
        """The role both held (its ``role:`` group) and carried by the token (the role's Cartable
        scope among :attr:`scopes`), in :data:`ROLE_SCOPES` order; None if there is none."""
        return next((r for r in ROLE_SCOPES if r in self.roles and cartable_scope(r) in self.scopes), None)


def describe_groups(groups) -> dict[str, list[dict]]:
    """A user's Hub groups sorted for the home page: classes, courses, inspections, role."""
    out: dict[str, list[dict]] = {"classes": [], "courses": [], "inspections": [], "roles": []}
    section = {"class": "classes", "course": "courses", "inspect": "inspections"}
    for g in groups:
        parsed = parse_group(g.name)
        if parsed is None:
            continue
        if parsed.kind in section:
            out[section[parsed.kind]].append({"name": g.name, **dict(getattr(g, "properties", None) or {})})
        elif parsed.kind == "role":
            out["roles"].append({"name": g.name, "role": parsed.role})
    for items in out.values():
        items.sort(key=lambda d: d["name"])
    return out
