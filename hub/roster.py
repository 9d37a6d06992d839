"""Import a school's roster (CSV or XLSX, one row per person) into Cartable's tables.

The file is read and checked as a whole; every bad row is reported with its line
number and nothing is applied unless the whole file is valid. Applying is one
transaction that brings the database to what the file says for the file's school
year: people created or updated, classes of that year created, pupils enrolled,
teachers assigned per class × subject, inspectors per subject; people of the school
missing from the file are deactivated (never deleted). Importing the same file
again changes nothing; importing the next year's file rolls over and keeps the old
year's classes and enrollments. See ``docs/roster.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from cartable.core.db import (
    Credential,
    Database,
    Enrollment,
    Inspection,
    Person,
    RosterImport,
    SchoolClass,
    Teaching,
)
from cartable.core.i18n import _, gettext_for, normalize
from cartable.hub import accounts
from cartable.hub.slips import SlipEntry

# --------------------------------------------------------------------------------------
# Columns, roles and value formats
# --------------------------------------------------------------------------------------


def fold(text) -> str:
    """Lower-case, strip accents (and Arabic hamza/harakat), spaces and dashes to ``_``."""
    s = unicodedata.normalize("NFKD", str(text)).replace("\u0640", "").strip().lower()
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[\s\-'’./]+", "_", s).strip("_")


# Canonical column -> accepted spellings (compared after fold()).
COLUMNS: dict[str, tuple[str, ...]] = {
    "role": ("role", "rôle", "type", "fonction", "profil", "statut", "الدور", "الصفة"),
    "identifiant": ("identifiant", "id", "cne", "massar", "code_massar", "code massar", "national_id",
                    "username", "login", "matricule", "الرقم الوطني", "رمز مسار"),
    "nom": ("nom", "nom_fr", "last_name", "lastname", "surname", "family_name", "nom de famille"),
    "prenom": ("prénom", "prenom", "prenom_fr", "first_name", "firstname", "given_name"),
    "nom_ar": ("nom_ar", "nom arabe", "last_name_ar", "النسب", "الاسم العائلي"),
    "prenom_ar": ("prénom_ar", "prenom_ar", "prénom arabe", "first_name_ar", "الاسم", "الاسم الشخصي"),
    "classe": ("classe", "classes", "class", "groupe", "division", "القسم"),
    "matieres": ("matières", "matieres", "matière", "matiere", "subjects", "subject", "disciplines", "discipline",
                 "المواد", "المادة"),
    "annee_scolaire": ("année_scolaire", "annee_scolaire", "année scolaire", "annee", "année", "school_year", "year",
                       "السنة الدراسية"),
    "niveau": ("niveau", "level", "المستوى"),
    "filiere": ("filière", "filiere", "stream", "série", "serie", "option", "الشعبة"),
    "date_naissance": ("date_naissance", "date de naissance", "naissance", "birth_date", "date_of_birth", "dob",
                       "birthdate", "تاريخ الازدياد", "تاريخ الميلاد"),
    "email": ("email", "e-mail", "courriel", "mail", "البريد الإلكتروني"),
    "langue": ("langue", "language", "lang", "اللغة"),
}
REQUIRED = ("role", "identifiant", "nom", "prenom", "classe", "annee_scolaire")
ALIASES: dict[str, str] = {fold(a): canon for canon, names in COLUMNS.items() for a in (canon, *names)}

ROLE_ALIASES: dict[str, str] = {
    fold(a): role
    for role, names in {
        "pupil": ("élève", "eleve", "pupil", "student", "etudiant", "apprenant", "تلميذ", "تلميذة", "متعلم", "متعلمة"),
        "teacher": ("enseignant", "enseignante", "professeur", "professeure", "prof", "teacher", "أستاذ", "أستاذة"),
        "director": ("directeur", "directrice", "director", "proviseur", "principal", "مدير", "مديرة"),
        "inspector": ("inspecteur", "inspectrice", "inspector", "مفتش", "مفتشة"),
    }.items()
    for a in names
}

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
SUBJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
YEAR_RE = re.compile(r"^(\d{4})\s*[-/]\s*(\d{4})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_SPLIT = re.compile(r"[;,|]")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S")
ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
MAX_SHOWN = 30  # names listed per section of the preview


# --------------------------------------------------------------------------------------
# Problems and the report
# --------------------------------------------------------------------------------------


@dataclass
class Problem:
    """One thing wrong with the file; ``line`` is None for the whole file."""

    line: int | None
    message: str  # English msgid
    params: dict = field(default_factory=dict)

    def render(self, lang: str) -> str:
        t = gettext_for(lang)
        text = t(self.message).format(**self.params)
        if self.line is None:
            return text
        return t(_("line {line}: {message}")).format(line=self.line, message=text)


@dataclass
class Entry:
    """One person of the file (a teacher may span several lines)."""

    username: str
    national_id: str
    role: str
    last_name: str
    first_name: str
    last_name_ar: str | None
    first_name_ar: str | None
    birth_date: str | None
    email: str | None
    language: str | None
    lines: list[int]
    classes: list[str] = field(default_factory=list)  # pupils: one
    teachings: list[tuple[str, str]] = field(default_factory=list)  # teachers: (class, subject)
    subjects: list[str] = field(default_factory=list)  # inspectors ('*' = every subject)
    level: str | None = None
    stream: str | None = None

    def fields(self, school: str, year: str) -> dict:
        return {
            "national_id": self.national_id, "role": self.role, "school": school,
            "last_name": self.last_name, "first_name": self.first_name,
            "last_name_ar": self.last_name_ar, "first_name_ar": self.first_name_ar,
            "birth_date": self.birth_date, "email": self.email, "language": self.language,
            "active": True, "last_year": year, "source": "roster",
        }

    def enrollments(self) -> set[str]:
        return set(self.classes) if self.role == "pupil" else set()

    def teaching_set(self) -> set[tuple[str, str]]:
        return set(self.teachings) if self.role == "teacher" else set()

    def inspection_set(self) -> set[str]:
        return set(self.subjects) if self.role == "inspector" else set()

    def all_classes(self) -> list[str]:
        if self.role == "teacher":
            return list(dict.fromkeys(c for c, _s in self.teachings))
        return list(self.classes)


@dataclass
class ClassSpec:
    code: str
    line: int
    level: str | None = None
    stream: str | None = None
    pupils: int = 0


@dataclass
class Changes:
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)  # username -> what changed
    deactivated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    classes_created: list[str] = field(default_factory=list)
    classes_updated: list[str] = field(default_factory=list)
    classes_removed: list[str] = field(default_factory=list)
    need_credential: list[str] = field(default_factory=list)
    previous_year: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.created or self.updated or self.deactivated or self.classes_created
                    or self.classes_updated or self.classes_removed or self.need_credential)

    def counts(self) -> dict:
        return {"created": len(self.created), "updated": len(self.updated), "deactivated": len(self.deactivated),
                "unchanged": len(self.unchanged), "classes_created": len(self.classes_created),
                "classes_updated": len(self.classes_updated), "classes_removed": len(self.classes_removed)}


@dataclass
class ImportReport:
    path: Path
    school: str
    lang: str = "fr"
    year: str | None = None
    sha256: str | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    classes: dict[str, ClassSpec] = field(default_factory=dict)
    changes: Changes = field(default_factory=Changes)
    dry_run: bool = False
    applied: bool = False
    recorded: bool = False
    slips: list[SlipEntry] = field(default_factory=list)  # new passwords, in clear, in memory only
    sync: dict | None = None
    sync_problem: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def role_counts(self) -> dict[str, int]:
        counts = {r: 0 for r in ("pupil", "teacher", "director", "inspector")}
        for e in self.entries.values():
            counts[e.role] += 1
        return counts

    # -- rendering ----------------------------------------------------------------------
    def render_errors(self, lang: str | None = None) -> str:
        """Every error, each in the site language then in English."""
        lang = normalize(lang or self.lang)
        langs = [lang] if lang == "en" else [lang, "en"]
        out = []
        for i, lg in enumerate(langs):
            head = gettext_for(lg)(_("{file}: {count} error(s); nothing was changed. Fix the file and import it again."))
            out.append(("  " if i else "") + head.format(file=self.path.name, count=len(self.errors)))
        for p in sorted(self.errors, key=lambda p: (p.line or 0)):
            for i, lg in enumerate(langs):
                out.append(("    " if i else "  ") + p.render(lg))
        return "\n".join(out)

    def render_preview(self, lang: str | None = None) -> str:
        t = gettext_for(normalize(lang or self.lang))
        c = self.changes
        rc = self.role_counts()
        out = [t(_("School {school}, school year {year}, file {file}")).format(
            school=self.school, year=self.year or "?", file=self.path.name)]
        out.append(t(_("People in the file: {pupils} pupils, {teachers} teachers, {directors} directors, "
                       "{inspectors} inspectors")).format(pupils=rc["pupil"], teachers=rc["teacher"],
                                                          directors=rc["director"], inspectors=rc["inspector"]))
        out.append(t(_("Classes ({count}):")).format(count=len(self.classes)))
        teachers_of: dict[str, list[str]] = {}
        for e in self.entries.values():
            for cls, subject in e.teaching_set():
                teachers_of.setdefault(cls, []).append(f"{subject} ({e.username})")
        for code in sorted(self.classes):
            k = self.classes[code]
            desc = " — ".join(x for x in (k.level, k.stream) if x)
            line = "  " + t(_("{code}: {count} pupils")).format(code=code, count=k.pupils)
            if desc:
                line += f" [{desc}]"
            if teachers_of.get(code):
                line += " ; " + ", ".join(sorted(teachers_of[code]))
            out.append(line)
        if c.previous_year and self.year and c.previous_year < self.year:
            out.append(t(_("New school year: {year} follows {previous}; the classes and enrollments of {previous} "
                           "are kept.")).format(year=self.year, previous=c.previous_year))
        out.append(t(_("Accounts: {created} created, {updated} updated, {deactivated} deactivated, "
                       "{unchanged} unchanged")).format(**c.counts()))
        out.append(t(_("Classes of {year}: {classes_created} created, {classes_updated} updated, "
                       "{classes_removed} removed")).format(year=self.year or "?", **c.counts()))

        def listing(label, names):
            if not names:
                return
            shown = ", ".join(names[:MAX_SHOWN])
            if len(names) > MAX_SHOWN:
                shown += " " + t(_("… and {count} more")).format(count=len(names) - MAX_SHOWN)
            out.append(f"  {t(label)}: {shown}")

        listing(_("created"), sorted(c.created))
        listing(_("updated"), [f"{u} ({', '.join(w)})" for u, w in sorted(c.updated.items())])
        listing(_("deactivated"), sorted(c.deactivated))
        for w in self.warnings:
            out.append(t(_("Warning: {message}")).format(message=w.render(normalize(lang or self.lang))))
        if self.dry_run:
            out.append(t(_("Dry run: nothing was changed.")))
        elif self.applied:
            out.append(t(_("The roster was applied.")) if c.any else t(_("Nothing to change: the database already "
                                                                        "matches this file.")))
        return "\n".join(out)


# --------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat() if not pd.isna(value) else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\xa0", " ").strip()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def sniff_separator(text: str) -> str:
    """``;``, ``,`` or tab: whichever the header line uses most."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def read_table(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The file as a DataFrame of strings, with the file's line number as index."""
    ext = path.suffix.lower()
    if not path.is_file():
        return None, [Problem(None, _("The file {file} does not exist; check its name and folder."), {"file": str(path)})]
    if ext == ".xls":
        return None, [Problem(None, _("{file} is an old Excel file (.xls). Open it in Excel or LibreOffice and save it "
                                      "as an Excel workbook (.xlsx) or as CSV UTF-8."), {"file": path.name})]
    if ext not in (".csv", ".txt", ".xlsx", ".xlsm"):
        return None, [Problem(None, _("Cartable reads .csv and .xlsx files, not {ext!r}. Save the roster from your "
                                      "spreadsheet as CSV UTF-8 or as an Excel workbook (.xlsx)."),
                              {"ext": ext or path.name})]
    try:
        if ext in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, sheet_name=0, dtype=object, header=0, na_filter=False)
        else:
            data = path.read_bytes()
            try:
                text = _decode(data)
            except UnicodeDecodeError:
                return None, [Problem(None, _("{file} is not UTF-8 text. In Excel choose Save as → “CSV UTF-8”; in "
                                              "LibreOffice choose the character set “Unicode (UTF-8)”."),
                                      {"file": path.name})]
            if not text.strip():
                return None, [Problem(None, _("{file} is empty: the first line must hold the column names and each "
                                              "following line one person."), {"file": path.name})]
            df = pd.read_csv(io.StringIO(text), sep=sniff_separator(text), dtype=str, keep_default_na=False,
                             skip_blank_lines=False, skipinitialspace=True)
    except Exception as e:  # pandas/openpyxl raise many kinds
        return None, [Problem(None, _("{file} cannot be read ({detail}). Check that it is a CSV or XLSX file, "
                                      "that it is not damaged and not open in another program."),
                              {"file": path.name, "detail": str(e).splitlines()[0] if str(e) else type(e).__name__})]
    df = df.map(_cell) if len(df) else df
    df.index = range(2, len(df) + 2)  # header is line 1
    return df, []


def map_columns(columns) -> tuple[dict[str, str], list[Problem], list[Problem]]:
    """``{canonical: column in file}``, errors, warnings (ignored columns)."""
    found: dict[str, list[str]] = {}
    ignored = []
    for col in columns:
        name = str(col).strip()
        canon = ALIASES.get(fold(name))
        if canon:
            found.setdefault(canon, []).append(name)
        elif name and not name.lower().startswith("unnamed:"):
            ignored.append(name)
    errors, warnings = [], []
    for canon, names in found.items():
        if len(names) > 1:
            errors.append(Problem(None, _("Columns {columns} all mean {column}; keep only one of them."),
                                  {"columns": ", ".join(names), "column": canon}))
    for canon in REQUIRED:
        if canon not in found:
            errors.append(Problem(None, _("The required column {column} is missing (accepted names: {aliases}). Add it "
                                          "to the first line of the file."),
                                  {"column": canon, "aliases": ", ".join(COLUMNS[canon][:6])}))
    if ignored:
        warnings.append(Problem(None, _("columns ignored: {columns}"), {"columns": ", ".join(ignored)}))
    return {c: n[0] for c, n in found.items()}, errors, warnings


# --------------------------------------------------------------------------------------
# Checking rows
# --------------------------------------------------------------------------------------


def parse_year(value: str) -> str | None:
    m = YEAR_RE.match(value)
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        return None
    return f"{m.group(1)}-{m.group(2)}"


def parse_date(value: str, today: dt.date | None = None) -> str | None:
    today = today or dt.date.today()
    for fmt in DATE_FORMATS:
        try:
            d = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return d.isoformat() if dt.date(1900, 1, 1) <= d <= today else None
    return None


def split_list(value: str) -> list[str]:
    return [v.strip() for v in LIST_SPLIT.split(value) if v.strip()]


def subject_key(value: str) -> str:
    """``Physique-Chimie`` → ``physique-chimie``, ``Mathématiques`` → ``mathematiques``."""
    s = unicodedata.normalize("NFKD", value).strip().lower()
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"\s+", "-", s)


def _same_name(a: Entry, b: Entry) -> bool:
    def k(x):
        return " ".join(fold(x or "").split("_"))
    return k(a.last_name) == k(b.last_name) and k(a.first_name) == k(b.first_name)


def check_rows(df: pd.DataFrame, cols: dict[str, str]) -> tuple[dict[str, Entry], dict[str, ClassSpec], str | None,
                                                                 int | None, list[Problem]]:
    """Entries by username, classes by code, the year and its first line, and every row error."""
    errors: list[Problem] = []
    entries: dict[str, Entry] = {}
    classes: dict[str, ClassSpec] = {}
    class_key: dict[str, str] = {}  # upper-cased code -> spelling of its first pupil
    year: str | None = None
    year_line: int | None = None
    teacher_refs: list[tuple[int, str]] = []

    def get(row, canon):
        col = cols.get(canon)
        return row[col] if col is not None else ""

    for line, row in df.iterrows():
        values = {c: get(row, c) for c in COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        err = len(errors)

        def bad(msg, **params):
            errors.append(Problem(line, msg, params))

        # role
        role = ROLE_ALIASES.get(fold(values["role"]))
        if not values["role"]:
            bad(_("the role is missing; write élève, enseignant, directeur or inspecteur"))
        elif role is None:
            bad(_("unknown role {value!r}; write élève, enseignant, directeur or inspecteur"), value=values["role"])
        # identifier
        ident = values["identifiant"]
        username = ident.lower()
        if not ident:
            bad(_("the identifier is missing; give the national ID (for pupils the Massar code)"))
        elif not ID_RE.match(ident):
            bad(_("the identifier {value!r} is not valid: use only unaccented letters, digits, '.', '_' and '-' (at "
                  "most 64, starting with a letter or a digit)"), value=ident)
            username = ""
        # names
        for canon in ("nom", "prenom"):
            v = values[canon]
            if not v:
                bad(_("the {column} column is empty; give the name in Latin letters"), column=canon)
            elif ARABIC.search(v):
                bad(_("{value!r} in column {column} is not in Latin letters; put the Arabic spelling in {column}_ar"),
                    value=v, column=canon)
        for canon in ("nom_ar", "prenom_ar"):
            v = values[canon]
            if v and LATIN.search(v):
                bad(_("{value!r} in column {column} contains Latin letters; this column is for the Arabic spelling"),
                    value=v, column=canon)
        # year
        y = values["annee_scolaire"]
        if not y:
            bad(_("the school year is missing; write it as 2026-2027"))
        elif parse_year(y) is None:
            bad(_("the school year {value!r} is not valid; write it as 2026-2027"), value=y)
        elif year is None:
            year, year_line = parse_year(y), line
        elif parse_year(y) != year:
            bad(_("the school year {value} differs from {year} (line {other}); a file holds one school year"),
                value=parse_year(y), year=year, other=year_line)
        # optional values
        birth = None
        if values["date_naissance"]:
            birth = parse_date(values["date_naissance"])
            if birth is None:
                bad(_("the birth date {value!r} is not valid; write it as 2009-03-14 or 14/03/2009"),
                    value=values["date_naissance"])
        lang = None
        if values["langue"]:
            lang = values["langue"].strip().lower()
            if lang not in ("fr", "ar", "en"):
                bad(_("the language {value!r} is not valid; write fr, ar or en, or leave it empty"),
                    value=values["langue"])
        email = values["email"] or None
        if email and not EMAIL_RE.match(email):
            bad(_("the e-mail address {value!r} is not valid"), value=email)
        # classes and subjects
        row_classes = split_list(values["classe"])
        for c in row_classes:
            if not CLASS_RE.match(c):
                bad(_("the class {value!r} is not a valid class code: use letters, digits, '.', '_' and '-' (at most "
                      "32)"), value=c)
        row_classes = [c for c in row_classes if CLASS_RE.match(c)]
        subjects = []
        for raw in split_list(values["matieres"]):
            s = subject_key(raw)
            if not SUBJECT_RE.match(s):
                bad(_("the subject {value!r} is not valid: use letters, digits, '-' and '_'"), value=raw)
            else:
                subjects.append(s)
        if role == "pupil":
            if not row_classes and not split_list(values["classe"]):
                bad(_("a pupil must have exactly one class; this line has none"))
            elif len(split_list(values["classe"])) > 1:
                bad(_("a pupil must have exactly one class; this line has {count}: {classes}"),
                    count=len(split_list(values["classe"])), classes=", ".join(split_list(values["classe"])))
        elif role == "teacher":
            if not split_list(values["classe"]):
                bad(_("a teacher must have at least one class in column classe"))
            if not split_list(values["matieres"]):
                bad(_("a teacher must have at least one subject in column matieres"))
        if len(errors) > err or role is None or not username:
            continue

        entry = Entry(username=username, national_id=ident, role=role, last_name=values["nom"],
                      first_name=values["prenom"], last_name_ar=values["nom_ar"] or None,
                      first_name_ar=values["prenom_ar"] or None, birth_date=birth, email=email, language=lang,
                      lines=[line])
        if role == "pupil":
            code = class_key.setdefault(row_classes[0].upper(), row_classes[0])
            entry.classes = [code]
            spec = classes.setdefault(code, ClassSpec(code, line))
            spec.pupils += 1
            for attr, canon in (("level", "niveau"), ("stream", "filiere")):
                v = values[canon] or None
                if v and getattr(spec, attr) and getattr(spec, attr) != v:
                    bad(_("the {column} {value!r} of class {code} differs from {other!r} given earlier; a class has one "
                          "{column}"), column=canon, value=v, code=code, other=getattr(spec, attr))
                elif v:
                    setattr(spec, attr, v)
        elif role == "teacher":
            entry.teachings = [(c, s) for c in row_classes for s in subjects]
            teacher_refs.extend((line, c) for c in row_classes)
        elif role == "inspector":
            entry.subjects = list(dict.fromkeys(subjects)) or ["*"]

        previous = entries.get(username)
        if previous is None:
            entries[username] = entry
        elif previous.role == "teacher" and role == "teacher" and _same_name(previous, entry):
            previous.lines.append(line)
            previous.teachings = list(dict.fromkeys(previous.teachings + entry.teachings))
            for attr in ("last_name_ar", "first_name_ar", "birth_date", "email", "language"):
                if getattr(previous, attr) is None:
                    setattr(previous, attr, getattr(entry, attr))
        elif previous.role == "teacher" and role == "teacher":
            bad(_("the identifier {value} is already on line {other} with another name; a teacher may be on several "
                  "lines only with the same name"), value=ident, other=previous.lines[0])
        else:
            bad(_("the identifier {value} is already on line {other}; each person appears once (only teachers may "
                  "take several lines)"), value=ident, other=previous.lines[0])

    # Teachers' classes must be classes of pupils of the file; use the pupils' spelling.
    for line, c in teacher_refs:
        if c.upper() not in class_key:
            errors.append(Problem(line, _("the class {value} has no pupil in this file; check its spelling or add its "
                                          "pupils"), {"value": c}))
    for e in entries.values():
        if e.role == "teacher":
            e.teachings = list(dict.fromkeys((class_key.get(c.upper(), c), s) for c, s in e.teachings))
    if not entries and not errors:
        errors.append(Problem(None, _("The file has no rows of people: the first line must hold the column names and "
                                      "each following line one person.")))
    return entries, classes, year, year_line, errors


# --------------------------------------------------------------------------------------
# Comparing with the database
# --------------------------------------------------------------------------------------


def _chunks(items, n=500):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


class _State:
    """What the database holds for a school and year, loaded in one session."""

    def __init__(self, s, school: str, year: str, usernames):
        self.people: dict[str, Person] = {}
        for chunk in _chunks(usernames):
            self.people.update({p.username: p for p in s.scalars(select(Person).where(Person.username.in_(chunk)))})
        self.active_here = list(s.scalars(select(Person).where(Person.school == school, Person.active.is_(True))))
        self.classes = {k.code: k for k in s.scalars(select(SchoolClass).where(SchoolClass.school == school,
                                                                               SchoolClass.year == year))}
        class_ids = {k.id: k.code for k in self.classes.values()}
        self.enrollments: dict[str, dict[str, Enrollment]] = {}
        self.teachings: dict[str, dict[tuple[str, str], Teaching]] = {}
        self.inspections: dict[str, dict[str, Inspection]] = {}
        if class_ids:
            for e in s.scalars(select(Enrollment).where(Enrollment.class_id.in_(list(class_ids)))):
                self.enrollments.setdefault(e.username, {})[class_ids[e.class_id]] = e
            for t in s.scalars(select(Teaching).where(Teaching.class_id.in_(list(class_ids)))):
                self.teachings.setdefault(t.username, {})[(class_ids[t.class_id], t.subject)] = t
        for i in s.scalars(select(Inspection).where(Inspection.school == school, Inspection.year == year)):
            self.inspections.setdefault(i.username, {})[i.subject] = i
        self.credentials = set()
        for chunk in _chunks(usernames):
            self.credentials.update(s.scalars(select(Credential.username).where(Credential.username.in_(chunk))))


def _db_problems(report: ImportReport, state: _State) -> list[Problem]:
    out = []
    for e in report.entries.values():
        p = state.people.get(e.username)
        if p is None:
            continue
        if p.role == "admin":
            out.append(Problem(e.lines[0], _("the identifier {value} is an administrator account, which the roster "
                                             "does not manage"),
                               {"value": e.national_id}))
        elif p.school != report.school and p.active:
            out.append(Problem(e.lines[0], _("the identifier {value} is an active account of school {school}; that "
                                             "school must first remove it from its roster"),
                               {"value": e.national_id, "school": p.school}))
    return out


def _diff(report: ImportReport, state: _State) -> Changes:
    ch = Changes()
    year, school = report.year, report.school
    for code, spec in sorted(report.classes.items()):
        k = state.classes.get(code)
        if k is None:
            ch.classes_created.append(code)
        elif (k.level, k.stream) != (spec.level, spec.stream):
            ch.classes_updated.append(code)
    # A class of this year missing from the file goes only when nobody outside the file
    # (a pupil who left, kept with their history) still belongs to it.
    for code in sorted(set(state.classes) - set(report.classes)):
        holders = {u for u, d in state.enrollments.items() if code in d}
        holders |= {u for u, d in state.teachings.items() if any(c == code for c, _s in d)}
        if holders <= set(report.entries):
            ch.classes_removed.append(code)
    for username, e in sorted(report.entries.items()):
        p = state.people.get(username)
        if p is None:
            ch.created.append(username)
            ch.need_credential.append(username)
            continue
        what = [k for k, v in e.fields(school, year).items() if getattr(p, k) != v]
        if set(state.enrollments.get(username, {})) != e.enrollments():
            what.append("classes")
        if set(state.teachings.get(username, {})) != e.teaching_set():
            what.append("teaching")
        if set(state.inspections.get(username, {})) != e.inspection_set():
            what.append("inspection")
        if username not in state.credentials:
            ch.need_credential.append(username)
            what.append("password")
        if what:
            ch.updated[username] = what
        else:
            ch.unchanged.append(username)
    ch.deactivated = sorted(p.username for p in state.active_here
                            if p.username not in report.entries and p.source == "roster" and p.role != "admin")
    return ch


def _apply(s, report: ImportReport, state: _State, ch: Changes, hashes: dict[str, str], must_change: bool):
    year, school = report.year, report.school
    for code, spec in report.classes.items():
        k = state.classes.get(code)
        if k is None:
            k = state.classes[code] = SchoolClass(school=school, year=year, code=code, level=spec.level,
                                                  stream=spec.stream)
            s.add(k)
        elif (k.level, k.stream) != (spec.level, spec.stream):
            k.level, k.stream = spec.level, spec.stream
    s.flush()
    ids = {code: k.id for code, k in state.classes.items()}
    unchanged = set(ch.unchanged)
    for username, e in report.entries.items():
        if username in unchanged:
            continue
        p = state.people.get(username)
        if p is None:
            s.add(Person(username=username, **e.fields(school, year)))
        else:
            for key, value in e.fields(school, year).items():
                if getattr(p, key) != value:
                    setattr(p, key, value)
    s.flush()  # people before the rows that refer to them (no ORM relationship orders them)
    for username, e in report.entries.items():
        if username in unchanged:
            continue
        have = state.enrollments.get(username, {})
        for code in set(have) - e.enrollments():
            s.delete(have[code])
        for code in e.enrollments() - set(have):
            s.add(Enrollment(username=username, class_id=ids[code]))
        have_t = state.teachings.get(username, {})
        for key in set(have_t) - e.teaching_set():
            s.delete(have_t[key])
        for code, subject in sorted(e.teaching_set() - set(have_t)):
            s.add(Teaching(username=username, class_id=ids[code], subject=subject))
        have_i = state.inspections.get(username, {})
        for subject in set(have_i) - e.inspection_set():
            s.delete(have_i[subject])
        for subject in sorted(e.inspection_set() - set(have_i)):
            s.add(Inspection(username=username, school=school, year=year, subject=subject))
    s.flush()
    for code in ch.classes_removed:
        s.delete(state.classes.pop(code))
    for username in ch.need_credential:
        s.add(Credential(username=username, password_hash=hashes[username], must_change=must_change))
    for p in state.active_here:
        if p.username in ch.deactivated:
            p.active = False


def _record(s, report: ImportReport, ch: Changes) -> bool:
    """Record the import when it changed something or this exact file was never imported here."""
    seen = s.scalar(select(RosterImport.id).where(RosterImport.school == report.school,
                                                  RosterImport.sha256 == report.sha256).limit(1))
    if seen is not None and not ch.any:
        return False
    summary = dict(ch.counts(), pupils=report.role_counts()["pupil"], classes=len(report.classes))
    s.add(RosterImport(school=report.school, year=report.year, filename=report.path.name[:500],
                       sha256=report.sha256, summary=json.dumps(summary, sort_keys=True)))
    return True


def _hash_all(passwords: dict[str, str]) -> dict[str, str]:
    if not passwords:
        return {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(passwords, pool.map(accounts.hash_password, passwords.values()), strict=True))


def _push(cfg, db: Database, report: ImportReport):
    """Tell a running Hub at once; the cartable-sync service catches up otherwise."""
    try:
        from cartable.hub.sync import push_if_running
    except ImportError:  # pragma: no cover - the sync module ships with the hub
        report.sync_problem = "cartable.hub.sync is not available"
        return
    try:
        report.sync = push_if_running(cfg, db)
    except FileNotFoundError:
        report.sync = None  # no hub secret yet: the hub was never started
    except Exception as e:  # the roster is applied; the sync service will retry
        report.sync_problem = f"{type(e).__name__}: {e}"


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def check_file(cfg, db: Database, path: Path) -> ImportReport:
    """Read and check ``path`` against the file's rules and the database; change nothing."""
    path = Path(path)
    report = ImportReport(path=path, school=cfg["school"]["code"], lang=normalize(cfg["school"].get("language")))
    df, problems = read_table(path)
    if problems:
        report.errors = problems
        return report
    report.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    cols, errors, warnings = map_columns(df.columns)
    report.warnings = warnings
    if errors:
        report.errors = errors
        return report
    if df.empty:
        report.errors = [Problem(None, _("The file has no rows of people: the first line must hold the column names "
                                         "and each following line one person."))]
        return report
    report.entries, report.classes, report.year, year_line, report.errors = check_rows(df, cols)
    current = db.current_year(report.school)
    report.changes.previous_year = current
    if report.year and current and report.year < current:
        report.errors.append(Problem(year_line, _("the school year {value} is older than the year already imported for "
                                                  "this school ({current}); import a file of {current} or later"),
                                     {"value": report.year, "current": current}))
    if report.year and report.year != cfg["school"]["year"]:
        report.warnings.append(Problem(None, _("the file's school year {value} differs from school.year in "
                                               "cartable.yaml ({configured})"),
                                       {"value": report.year, "configured": cfg["school"]["year"]}))
    if report.errors or not report.year:
        return report
    with db.session() as s:
        state = _State(s, report.school, report.year, report.entries)
        report.errors.extend(_db_problems(report, state))
        if not report.errors:
            report.changes = _diff(report, state)
            report.changes.previous_year = current
    return report


def import_file(cfg, db: Database, path: Path, dry_run: bool = False, quiet: bool = False,
                push: bool = True) -> ImportReport:
    """Check ``path`` and, if it is valid and not ``dry_run``, apply it in one transaction.

    New passwords are in ``report.slips`` (in clear, in memory only); the caller writes
    them out. ``quiet`` is accepted for callers that print nothing (this function never
    prints).
    """
    report = check_file(cfg, db, path)
    report.dry_run = dry_run
    if not report.ok or dry_run:
        return report
    local = cfg["auth"]["local"]
    must_change = bool(local["force_password_change"])
    passwords = {u: accounts.generate_password(local["password_length"]) for u in report.changes.need_credential}
    hashes = _hash_all(passwords)  # slow on purpose (argon2): outside the write transaction
    with db.session() as s:
        state = _State(s, report.school, report.year, report.entries)
        problems = _db_problems(report, state)
        if problems:  # the database changed since the check
            report.errors = problems
            return report
        ch = _diff(report, state)
        ch.previous_year = report.changes.previous_year
        for u in ch.need_credential:
            if u not in hashes:
                passwords[u] = accounts.generate_password(local["password_length"])
                hashes[u] = accounts.hash_password(passwords[u])
        if ch.any:
            _apply(s, report, state, ch, hashes, must_change)
        report.recorded = _record(s, report, ch)
        report.changes = ch
    report.applied = True
    report.slips = [
        SlipEntry(username=e.username, password=passwords[e.username], role=e.role, first_name=e.first_name,
                  last_name=e.last_name, first_name_ar=e.first_name_ar, last_name_ar=e.last_name_ar,
                  classes=e.all_classes())
        for e in (report.entries[u] for u in ch.need_credential)
    ]
    if push:
        _push(cfg, db, report)
    return report
