"""Which lessons exist, who may open which, and the tree of notebooks Voilà serves.

Two sources of lessons:

- the course library: every ``kind: lesson`` entry of ``courses/catalogue.yaml`` and its
  translations (``suites.ipynb``, ``suites.ar.ipynb`` …), for a level and streams;
- lessons a teacher publishes from their own server to some of their classes
  (:meth:`Library.publish`): each publication keeps every version, the current one is
  served, and the teacher may withdraw it.

Who may open a lesson is decided from the viewer's Hub identity and Hub groups (never from a
parameter): a pupil sees the library lessons of their class's level and stream and the
lessons published to their class; a teacher those of the classes and subjects they teach
and what they published; a director everything of their school; an inspector the subjects
they inspect; an administrator everything.

Voilà serves ``<root>/site``: copies of the notebooks, each stamped with the Voilà template of
its language (``cartable`` or ``cartable-rtl``) and with the lessons' kernel
(``cartable-lesson``, see :mod:`.kernel`), so neither comes from the notebook's author.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cartable.core import roles
from cartable.core.i18n import _
from cartable.extensions.lessons import KERNEL_NAME

TEMPLATES = {"ltr": "cartable", "rtl": "cartable-rtl"}
ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF]")
LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NOTEBOOK_BYTES = 5 * 2**20
SUBJECTS = {
    "maths": "mathematiques", "math": "mathematiques", "mathematiques": "mathematiques",
    "mathematique": "mathematiques", "physique-chimie": "physique-chimie", "physique": "physique-chimie",
    "pc": "physique-chimie", "svt": "svt", "sciences-de-la-vie-et-de-la-terre": "svt",
}


class Refused(Exception):
    """A request the library refuses: HTTP status, a message id (gettext) and its parameters."""

    def __init__(self, status: int, msgid: str, **params):
        super().__init__(msgid.format(**params) if params else msgid)
        self.status, self.msgid, self.params = status, msgid, params


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def subject_of(value: str) -> str:
    """The catalogue's subject for a roster subject (``maths`` → ``mathematiques``)."""
    plain = _plain(value)
    return SUBJECTS.get(plain, plain)


def parse_level(level: str = "", code: str = "") -> str | None:
    """``2e année Bac`` or a class code ``2BSM1`` → ``2BAC`` (``1BAC`` likewise)."""
    plain = _plain(level)
    m = re.search(r"(?:^|-)([12])(?:e|re|er|eme|ere)?-(?:annee-)?bac", plain)
    if m:
        return f"{m.group(1)}BAC"
    m = re.match(r"^([12])B", code or "", re.I)
    return f"{m.group(1)}BAC" if m else None


def parse_stream(stream: str = "", code: str = "") -> str | None:
    """``Sciences Mathématiques A`` or ``2BSM1`` → ``SM``; ``Sciences Physiques`` → ``PC``; SVT."""
    plain = _plain(stream)
    if plain.startswith("sciences-mathematiques") or plain in ("sm", "sm-a", "sm-b"):
        return "SM"
    if plain.startswith("sciences-physiques") or plain == "pc":
        return "PC"
    if "vie-et-de-la-terre" in plain or plain == "svt":
        return "SVT"
    m = re.match(r"^[12]B(SM|PC|SVT)", code or "", re.I)
    return m.group(1).upper() if m else None


def detect_language(nb) -> str:
    """``ar`` when most letters of the Markdown cells are Arabic, else ``fr``."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = re.sub(r"<[^>]*>|\$[^$]*\$", "", text)  # tags and formulas say nothing of the language
    ar, latin = len(ARABIC.findall(text)), len(LATIN.findall(text))
    return "ar" if ar > latin else "fr"


def valid_name(name: str) -> bool:
    """A published lesson's name: lowercase ASCII letters, digits and dashes, at most 60."""
    return bool(SLUG.match(name or "")) and len(name) <= 60


def direction(lang: str) -> str:
    return "rtl" if lang == "ar" else "ltr"


# --------------------------------------------------------------------------- viewers


@dataclass
class Viewer:
    """The person asking, from the Hub: name, admin flag and Hub groups with their properties."""

    name: str
    admin: bool = False
    roles: set = field(default_factory=set)
    classes: list = field(default_factory=list)  # {"school", "class", "level", "stream"} (pupils)
    courses: list = field(default_factory=list)  # {"school", "class", "subject", "level", "stream"} (teachers)
    inspections: list = field(default_factory=list)  # {"school", "subject"}
    schools: set = field(default_factory=set)

    @classmethod
    def from_hub(cls, user: dict, groups: dict[str, dict]) -> Viewer:
        """``user``: the Hub's user model (``name``, ``admin``, ``groups``); ``groups``: every
        Hub group's properties by name (for the level and stream of a course's class)."""
        ident = roles.Identity.from_model(user)
        v = cls(name=ident.username, admin=ident.admin)
        for g in ident.groups:
            props = groups.get(g.name) or {}
            if g.kind == "role":
                v.roles.add(g.role)
            elif g.kind == "school":
                v.schools.add(g.school)
            elif g.kind == "class":
                v.classes.append(_klass(g.school, g.klass, props))
            elif g.kind == "course" and props.get("class"):
                school, code = props.get("school", ""), props["class"]
                klass = _klass(school, code, groups.get(roles.class_group(school, code)) or {})
                v.courses.append({**klass, "subject": subject_of(props.get("subject", "")),
                                  "course": props.get("course", g.course)})
            elif g.kind == "inspect":
                v.inspections.append({"school": g.school, "subject": "*" if g.subject == "*" else subject_of(g.subject)})
        return v

    @property
    def is_teacher(self) -> bool:
        return "teacher" in self.roles

    @property
    def is_pupil(self) -> bool:
        return "pupil" in self.roles

    @property
    def is_director(self) -> bool:
        return "director" in self.roles

    def taught_classes(self) -> dict[str, dict]:
        """``{"school:class": class}`` for every class the viewer teaches this year."""
        return {f"{c['school']}:{c['class']}": c for c in self.courses}

    def inspects(self, school: str | None, subject: str) -> bool:
        return any((school is None or i["school"] == school) and i["subject"] in ("*", subject)
                   for i in self.inspections)


def _klass(school: str, code: str, props: dict) -> dict:
    return {"school": school, "class": code,
            "level": parse_level(props.get("level", ""), code), "stream": parse_stream(props.get("stream", ""), code)}


# --------------------------------------------------------------------------- lessons


@dataclass
class Lesson:
    """One notebook Voilà serves: ``path`` is relative to the served tree (``library/suites.ipynb``,
    ``published/<id>.ipynb``) and is the lesson's address."""

    path: str
    id: str
    titles: dict
    lang: str
    subject: str
    source: str  # "library" or "published"
    level: str | None = None
    streams: tuple = ()
    chapter: str = ""
    classes: tuple = ()  # "school:class" (published lessons)
    author: str = ""
    version: int = 0
    published_at: str = ""

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get(self.lang) or self.titles.get("fr") or self.id

    @property
    def template(self) -> str:
        return TEMPLATES[direction(self.lang)]

    def visible_to(self, v: Viewer) -> bool:
        if v.admin:
            return True
        schools = {c.split(":", 1)[0] for c in self.classes}
        if self.source == "published":
            if v.name == self.author:
                return True
            mine = {f"{c['school']}:{c['class']}" for c in v.classes} if v.is_pupil else set()
            taught = set(v.taught_classes()) if v.is_teacher else set()
            return bool((mine | taught) & set(self.classes)) \
                or (v.is_director and bool(v.schools & schools)) \
                or any(v.inspects(s, self.subject) for s in schools)
        # the course library
        if v.is_director:
            return True
        if v.is_pupil and any(c["level"] == self.level and c["stream"] in self.streams for c in v.classes):
            return True
        if v.is_teacher and any(c["subject"] == self.subject and c["level"] == self.level
                                and c["stream"] in self.streams for c in v.courses):
            return True
        return v.inspects(None, self.subject)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["streams"], d["classes"] = list(self.streams), list(self.classes)
        d["template"], d["dir"] = self.template, direction(self.lang)
        return d


def stamp(nb, lang: str) -> None:
    """What the service decides, whatever the notebook says: template by language, the lessons'
    kernel, no outputs (Voilà executes the notebook for each viewer)."""
    nb.metadata["voila"] = {"template": TEMPLATES[direction(lang)], "theme": "light"}
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3 (leçon)", "language": "python"}
    nb.metadata.setdefault("cartable", {})["lang"] = lang
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def sanitize_cells(nb) -> None:
    """Markdown and raw cells without what would run script in pupils' browsers (a published
    lesson's text is shown on the hub's origin)."""
    from cartable.core.sanitize import clean_markdown

    for cell in nb.cells:
        if cell.cell_type in ("markdown", "raw"):
            cell.source = clean_markdown(cell.source)
        for name in list(cell.get("attachments") or {}):
            if any(not k.startswith("image/") or k == "image/svg+xml" for k in cell.attachments[name]):
                del cell.attachments[name]


def _write_atomic(path: Path, data: bytes, mode: int = 0o600, gid: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    if gid is not None:
        os.chown(tmp, -1, gid)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Library:
    """The lessons of one site: ``root`` is ``<state_dir>/lessons``."""

    def __init__(self, root: Path, catalogue_path: Path | None = None):
        self.root = Path(root)
        self.site = self.root / "site"
        self.store = self.root / "published"
        self.catalogue_path = catalogue_path
        self._lock = threading.RLock()
        self._library: list[Lesson] = []
        self._published: dict[str, Lesson] = {}

    #: The group of the lessons' kernel account: it reads the served tree (its kernels' working
    #: folders), which nobody else but the service may read (``share_site``).
    site_gid: int | None = None

    def _write_site(self, path: Path, data: bytes) -> None:
        _write_atomic(path, data, 0o640 if self.site_gid is not None else 0o600, self.site_gid)

    def share_site(self, gid: int | None) -> None:
        """The served tree readable by the service and, when ``gid`` is given, that group only:
        a pupil never reads a lesson by its path (lessons of other classes included)."""
        self.site_gid = gid
        (self.site / "published").mkdir(parents=True, exist_ok=True)
        for path in [self.site, *self.site.rglob("*")]:
            if path.is_symlink():
                continue
            if gid is not None:
                os.lchown(path, -1, gid)
            if path.is_dir():
                os.chmod(path, 0o750 if gid is not None else 0o700)
            else:
                os.chmod(path, 0o640 if gid is not None else 0o600)

    # -- the course library ----------------------------------------------------------
    def sync_library(self) -> list[Lesson]:
        """Copy the catalogue's lessons into the served tree (stamped); return them."""
        from cartable.core.catalogue import load

        cat = load(self.catalogue_path)
        lessons = []
        wanted = set()
        for e in cat.select(kind="lesson"):
            for rel in dict.fromkeys([e.path, *e.translations.values()]):
                src = cat.root / rel
                if not src.is_file():
                    continue
                nb = nbformat.read(src, as_version=4)
                nb_lang = nb.metadata.get("cartable", {}).get("lang") or detect_language(nb)
                stamp(nb, nb_lang)
                path = f"library/{Path(rel).name}"
                data = nbformat.writes(nb).encode()
                target = self.site / path
                if not target.exists() or target.read_bytes() != data:
                    self._write_site(target, data)
                wanted.add(target.name)
                lessons.append(Lesson(path=path, id=e.id, titles=dict(e.titles), lang=nb_lang, subject=e.subject,
                                      source="library", level=e.level, streams=tuple(e.streams), chapter=e.chapter))
        for old in (self.site / "library").glob("*.ipynb"):
            if old.name not in wanted:
                old.unlink()
        with self._lock:
            self._library = lessons
        return lessons

    # -- published lessons -----------------------------------------------------------
    def load_published(self) -> None:
        out = {}
        for meta_path in sorted(self.store.glob("*/meta.json")):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("withdrawn_at") is None and meta.get("versions"):
                out[meta["id"]] = self._lesson_of(meta)
        with self._lock:
            self._published = out

    @staticmethod
    def _lesson_of(meta: dict) -> Lesson:
        current = meta["versions"][-1]
        return Lesson(path=f"published/{meta['id']}.ipynb", id=meta["id"], titles={meta["lang"]: current["title"]},
                      lang=meta["lang"], subject=meta["subject"], source="published",
                      classes=tuple(meta["classes"]), author=meta["author"], version=current["version"],
                      published_at=current["published_at"])

    def meta(self, pub_id: str) -> dict | None:
        path = self.store / pub_id / "meta.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def resolve_classes(self, v: Viewer, wanted: list[str], subject: str | None) -> tuple[list[str], str]:
        """The ``school:class`` keys for the classes a teacher names (``2BSM1`` or
        ``DEMO:2BSM1``) and the subject: refused unless the teacher teaches every one of them."""
        if not (v.is_teacher or v.admin):
            raise Refused(403, _("Only teachers publish lessons."))
        taught = v.taught_classes()
        keys = []
        for name in wanted:
            name = name.strip()
            hits = [k for k in taught if k == name or k.split(":", 1)[1] == name]
            if len(hits) != 1:
                raise Refused(403, _("You do not teach the class {klass}."), klass=name[:40])
            keys.append(hits[0])
        if not keys:
            raise Refused(400, _("Name at least one of your classes."))
        subjects = {c["subject"] for c in v.courses if f"{c['school']}:{c['class']}" in keys}
        if subject:
            subject = subject_of(subject)
            if subject not in subjects:
                raise Refused(403, _("You do not teach {subject} in these classes."), subject=subject)
        elif len(subjects) == 1:
            subject = subjects.pop()
        else:
            raise Refused(400, _("Say which subject this lesson belongs to (--subject)."))
        return sorted(dict.fromkeys(keys)), subject

    def prepare(self, raw: bytes, lang: str | None = None):
        """Validate a notebook a teacher sends; return it stamped, with its language and title."""
        if len(raw) > MAX_NOTEBOOK_BYTES:
            raise Refused(413, _("The notebook is too large (at most {mb} MB)."), mb=MAX_NOTEBOOK_BYTES // 2**20)
        try:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception:  # any parse or schema error is the sender's
            raise Refused(400, _("This is not a valid notebook (.ipynb).")) from None
        if not any(c.cell_type == "code" for c in nb.cells) and not any(c.cell_type == "markdown" for c in nb.cells):
            raise Refused(400, _("This notebook is empty."))
        lang = lang or nb.metadata.get("cartable", {}).get("lang") or detect_language(nb)
        if lang not in ("fr", "ar", "en"):
            raise Refused(400, _("Unknown language {lang}."), lang=lang[:8])
        title = ""
        for c in nb.cells:
            if c.cell_type == "markdown":
                m = re.search(r"^#\s+(.+)$", re.sub(r"<[^>]+>", "", c.source), re.M)
                if m:
                    title = m.group(1).strip()[:200]
                    break
        stamp(nb, lang)
        sanitize_cells(nb)
        return nb, lang, title

    def publish(self, v: Viewer, name: str, nb, lang: str, title: str, classes: list[str], subject: str) -> dict:
        """Store a new version of ``<author>--<name>`` and serve it; return its meta."""
        if not valid_name(name):
            raise Refused(400, _("A lesson name is lowercase letters, digits and dashes, such as {example}."),
                          example="ondes-mecaniques")
        pub_id = f"{_plain(v.name)}--{name}"
        with self._lock:
            meta = self.meta(pub_id) or {"id": pub_id, "author": v.name, "name": name, "versions": []}
            if meta["author"] != v.name:
                raise Refused(403, _("This lesson belongs to another teacher."))
            version = len(meta["versions"]) + 1
            data = nbformat.writes(nb).encode()
            _write_atomic(self.store / pub_id / f"v{version}.ipynb", data)
            meta.update(lang=lang, subject=subject, classes=classes, withdrawn_at=None, withdrawn_by=None)
            meta["versions"].append({"version": version, "title": title or name, "published_at": _now(),
                                     "size": len(data)})
            _write_atomic(self.store / pub_id / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1).encode())
            self._write_site(self.site / "published" / f"{pub_id}.ipynb", data)
            self._published[pub_id] = self._lesson_of(meta)
        return meta

    def withdraw(self, v: Viewer, pub_id: str) -> dict:
        with self._lock:
            meta = self.meta(pub_id)
            if meta is None or meta.get("withdrawn_at"):
                raise Refused(404, _("Not found."))
            if meta["author"] != v.name and not v.admin:
                raise Refused(403, _("Only its author may withdraw this lesson."))
            meta["withdrawn_at"], meta["withdrawn_by"] = _now(), v.name
            _write_atomic(self.store / pub_id / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1).encode())
            (self.site / "published" / f"{pub_id}.ipynb").unlink(missing_ok=True)
            self._published.pop(pub_id, None)
        return meta

    # -- queries -------------------------------------------------------------------------
    def lessons(self) -> list[Lesson]:
        with self._lock:
            return [*self._library, *self._published.values()]

    def get(self, path: str) -> Lesson | None:
        """The lesson served at ``path`` (exactly; anything else is None)."""
        path = (path or "").lstrip("/")
        for lesson in self.lessons():
            if lesson.path == path:
                return lesson
        return None

    def visible(self, v: Viewer) -> list[Lesson]:
        return [lesson for lesson in self.lessons() if lesson.visible_to(v)]

    def file_of(self, lesson: Lesson) -> Path:
        return self.site / lesson.path

    def clear_site(self) -> None:
        shutil.rmtree(self.site, ignore_errors=True)
