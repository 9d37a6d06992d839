"""The course library catalogue (``courses/catalogue.yaml``): load, validate, query.

Each entry describes one lesson, exercise set or mock exam: id, titles in French, Arabic and
English, level, streams, subject, chapter, kind, duration, prerequisites, path (relative to
the catalogue's folder), and for graded material its total points; exams also carry the
stream's coefficient. Other parts of Cartable use :func:`load` and :meth:`Catalogue.select`
to offer each class the material of its subject::

    from cartable.core.catalogue import load
    cat = load()
    for entry in cat.select(subject="physique-chimie", kind="exercises", stream="PC"):
        print(entry.id, entry.title("ar"), cat.path_of(entry))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from cartable.core.i18n import _, gettext_for, normalize

KINDS = ("lesson", "exercises", "exam")
SUBJECTS = ("mathematiques", "physique-chimie")
STREAMS = ("SM", "PC", "SVT")

_TITLE = {"type": "object", "required": ["fr", "ar", "en"], "additionalProperties": False,
          "properties": {k: {"type": "string", "minLength": 1} for k in ("fr", "ar", "en")}}
_ID = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
_PATH = {"type": "string", "pattern": r"^[A-Za-z0-9_\-./]+\.ipynb$", "not": {"pattern": r"\.\."}}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Cartable course catalogue",
    "type": "object",
    "required": ["version", "entries"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "level", "stream", "subject", "chapter", "kind",
                             "duration_minutes", "prerequisites", "path"],
                "additionalProperties": False,
                "properties": {
                    "id": _ID,
                    "title": _TITLE,
                    "level": {"type": "string", "enum": ["1BAC", "2BAC"]},
                    "stream": {"type": "array", "minItems": 1, "uniqueItems": True,
                               "items": {"enum": list(STREAMS)}},
                    "subject": {"enum": list(SUBJECTS)},
                    "chapter": _ID,
                    "kind": {"enum": list(KINDS)},
                    "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 600},
                    "prerequisites": {"type": "array", "uniqueItems": True, "items": _ID},
                    "path": _PATH,
                    "languages": {"type": "array", "items": {"enum": ["fr", "ar", "en"]}},
                    "translations": {"type": "object", "additionalProperties": False,
                                     "properties": {k: _PATH for k in ("fr", "ar", "en")}},
                    "points": {"type": "number", "exclusiveMinimum": 0},
                    "coefficient": {"type": "object", "minProperties": 1,
                                    "propertyNames": {"enum": list(STREAMS)},
                                    "additionalProperties": {"type": "integer", "minimum": 1}},
                    "timed": {"type": "boolean"},
                },
                "allOf": [
                    {"if": {"properties": {"kind": {"const": "exam"}}},
                     "then": {"required": ["points", "coefficient", "timed"],
                              "properties": {"points": {"const": 20},
                                             "timed": {"const": True}}}},
                    {"if": {"properties": {"kind": {"const": "exercises"}}},
                     "then": {"required": ["points"]}},
                ],
            },
        },
    },
}


class CatalogueError(ValueError):
    """The catalogue is malformed; ``problems`` lists each issue (in English)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def translated(self, lang: str = "fr") -> str:
        return gettext_for(normalize(lang))(_("The course catalogue is invalid.")) + \
            "\n" + "\n".join(self.problems)


@dataclass(frozen=True)
class Entry:
    id: str
    titles: dict
    level: str
    streams: tuple
    subject: str
    chapter: str
    kind: str
    duration_minutes: int
    prerequisites: tuple
    path: str
    languages: tuple = ("fr",)
    translations: dict = field(default_factory=dict)
    points: float | None = None
    coefficient: dict = field(default_factory=dict)
    timed: bool = False

    def title(self, lang: str = "fr") -> str:
        return self.titles.get(normalize(lang)) or self.titles["fr"]

    def path_for(self, lang: str = "fr") -> str:
        """The notebook in ``lang`` when one exists, else the main one."""
        return self.translations.get(normalize(lang), self.path)

    @classmethod
    def from_dict(cls, d: dict) -> Entry:
        return cls(id=d["id"], titles=dict(d["title"]), level=d["level"],
                   streams=tuple(d["stream"]), subject=d["subject"], chapter=d["chapter"],
                   kind=d["kind"], duration_minutes=d["duration_minutes"],
                   prerequisites=tuple(d["prerequisites"]), path=d["path"],
                   languages=tuple(d.get("languages", ["fr"])),
                   translations=dict(d.get("translations", {})), points=d.get("points"),
                   coefficient=dict(d.get("coefficient", {})), timed=d.get("timed", False))


class Catalogue:
    def __init__(self, entries: list[Entry], root: Path):
        self.entries = entries
        self.root = Path(root)
        self._by_id = {e.id: e for e in entries}

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def get(self, entry_id: str) -> Entry:
        return self._by_id[entry_id]

    def select(self, *, subject: str | None = None, kind: str | None = None,
               stream: str | None = None, level: str | None = None,
               chapter: str | None = None) -> list[Entry]:
        """Entries matching every criterion given, in catalogue order."""
        return [e for e in self.entries
                if (subject is None or e.subject == subject)
                and (kind is None or e.kind == kind)
                and (stream is None or stream in e.streams)
                and (level is None or e.level == level)
                and (chapter is None or e.chapter == chapter)]

    def by_subject(self, kind: str | None = None) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for e in self.entries:
            if kind is None or e.kind == kind:
                out.setdefault(e.subject, []).append(e)
        return out

    def path_of(self, entry: Entry | str, lang: str = "fr") -> Path:
        entry = self.get(entry) if isinstance(entry, str) else entry
        return self.root / entry.path_for(lang)

    def assignment_dir(self, entry: Entry | str) -> Path:
        """For exercises and exams: the nbgrader source folder (named after the id)."""
        return self.path_of(entry).parent


def default_path() -> Path:
    """``$CARTABLE_COURSES/catalogue.yaml``, else the repository's ``courses/catalogue.yaml``."""
    env = os.environ.get("CARTABLE_COURSES")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "courses"
    return base / "catalogue.yaml"


def validate(data: dict, root: Path | None = None) -> list[str]:
    """Every problem found: schema errors, duplicate ids, unknown prerequisites, missing
    files (when ``root`` is given), exercise/exam folders not named after the id."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = [f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
                for err in sorted(validator.iter_errors(data), key=lambda e: list(e.path))]
    if problems:
        return problems
    ids = [e["id"] for e in data["entries"]]
    seen = set()
    for i in ids:
        if i in seen:
            problems.append(f"duplicate id {i!r}")
        seen.add(i)
    for e in data["entries"]:
        for p in e["prerequisites"]:
            if p not in seen:
                problems.append(f"{e['id']}: unknown prerequisite {p!r}")
            if p == e["id"]:
                problems.append(f"{e['id']}: is its own prerequisite")
        if e["kind"] in ("exercises", "exam"):
            parts = Path(e["path"]).parts
            if len(parts) < 2 or parts[-2] != e["id"] or Path(parts[-1]).stem != e["id"]:
                problems.append(f"{e['id']}: graded material lives in <folder>/{e['id']}/"
                                f"{e['id']}.ipynb (nbgrader assignment named after the id)")
        if root is not None:
            for p in [e["path"], *e.get("translations", {}).values()]:
                if not (Path(root) / p).is_file():
                    problems.append(f"{e['id']}: missing file {p}")
    return problems


def load(path: str | os.PathLike | None = None, *, check_files: bool = True) -> Catalogue:
    """Load and validate the catalogue; raise :class:`CatalogueError` listing every problem."""
    path = Path(path) if path else default_path()
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    problems = validate(data, path.parent if check_files else None)
    if problems:
        raise CatalogueError(problems)
    return Catalogue([Entry.from_dict(d) for d in data["entries"]], path.parent)
