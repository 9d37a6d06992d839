"""Printable credential slips: one card per account with its initial password.

Passwords are stored only as argon2 hashes, so a slip is the one place an initial
password exists in clear: the HTML file is written readable by its owner only
(mode 0600) and should be deleted once printed. Cards are grouped by class, each
class starting on a new A4 page, eight cards a page (two columns, four rows);
every card carries the instructions in French and in Arabic (``dir="rtl"``).
"""

from __future__ import annotations

import csv
import html
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cartable.core.i18n import _, gettext_for

CARDS_PER_PAGE = 8


@dataclass
class SlipEntry:
    """One account and its password in clear, as long as it lives in memory."""

    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    first_name_ar: str | None = None
    last_name_ar: str | None = None
    classes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def name_ar(self) -> str:
        return f"{self.first_name_ar or ''} {self.last_name_ar or ''}".strip()


ROLE_LABELS = {
    "pupil": _("pupil"),
    "teacher": _("teacher"),
    "director": _("director"),
    "inspector": _("inspector"),
    "admin": _("administrator"),
}

LABELS = {"username": _("Username"), "password": _("Password"), "address": _("Address"), "none": _("No account.")}

STAFF = "\uffffstaff"  # sorts after every class code

CSS = """
@page { size: A4; margin: 8mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Noto Sans", "Noto Naskh Arabic", Arial, sans-serif; margin: 0; color: #000; }
.page { width: 194mm; break-after: page; page-break-after: always; }
.page:last-child { break-after: auto; page-break-after: auto; }
.page h1 { font-size: 9pt; font-weight: normal; margin: 0 0 2mm 0; height: 5mm; }
.cards { display: grid; grid-template-columns: 1fr 1fr; grid-auto-rows: 66mm; gap: 2mm; }
.card { border: 0.3mm dashed #555; padding: 3mm 4mm; overflow: hidden; break-inside: avoid; page-break-inside: avoid;
        font-size: 8.5pt; line-height: 1.25; }
.school { font-size: 7.5pt; color: #333; display: flex; justify-content: space-between; }
.name { font-size: 11pt; font-weight: bold; margin-top: 1mm; }
.name-ar { font-size: 12pt; font-weight: bold; text-align: right; }
table.login { border-collapse: collapse; margin: 1.5mm 0; }
table.login td { padding: 0.3mm 2mm 0.3mm 0; vertical-align: baseline; }
.secret { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 12pt; font-weight: bold; letter-spacing: 0.4mm; }
.help { font-size: 7pt; margin: 0.8mm 0 0 0; }
.help[dir="rtl"] { font-size: 8pt; text-align: right; }
@media screen { body { background: #ddd; } .page { background: #fff; margin: 5mm auto; padding: 5mm; } }
"""


def _esc(value) -> str:
    return html.escape(str(value or ""), quote=True)


def _instructions(lang: str, must_change: bool) -> list[str]:
    t = gettext_for(lang)
    lines = [t(_("Log in with this username and password."))]
    if must_change:
        lines.append(t(_("At your first login you will choose your own password.")))
    lines.append(t(_("Never share your password; destroy this slip once you have logged in.")))
    return lines


def _group_key(entry: SlipEntry) -> str:
    if entry.role == "pupil" and entry.classes:
        return entry.classes[0]
    return STAFF


def _card(entry: SlipEntry, school: str, login_url: str | None, must_change: bool, fr, ar) -> str:
    classes = ", ".join(entry.classes)
    role = fr(ROLE_LABELS.get(entry.role, entry.role))
    rows = [
        f'<tr><td>{_esc(fr(LABELS["username"]))} / <span dir="rtl" lang="ar">{_esc(ar(LABELS["username"]))}</span></td>'
        f'<td class="secret">{_esc(entry.username)}</td></tr>',
        f'<tr><td>{_esc(fr(LABELS["password"]))} / <span dir="rtl" lang="ar">{_esc(ar(LABELS["password"]))}</span></td>'
        f'<td class="secret">{_esc(entry.password)}</td></tr>',
    ]
    if login_url:
        rows.append(f'<tr><td>{_esc(fr(LABELS["address"]))} / <span dir="rtl" lang="ar">{_esc(ar(LABELS["address"]))}</span></td>'
                    f'<td>{_esc(login_url)}</td></tr>')
    name_ar = f'<div class="name-ar" dir="rtl" lang="ar">{_esc(entry.name_ar)}</div>' if entry.name_ar else ""
    help_fr = " ".join(_instructions("fr", must_change))
    help_ar = " ".join(_instructions("ar", must_change))
    where = f"{_esc(classes)}" if classes else _esc(role)
    return (
        '<section class="card">'
        f'<div class="school"><span>{_esc(school)}</span><span>{where}</span></div>'
        f'<div class="name" lang="fr">{_esc(entry.name)}</div>{name_ar}'
        f'<table class="login">{"".join(rows)}</table>'
        f'<p class="help" lang="fr">{_esc(help_fr)}</p>'
        f'<p class="help" dir="rtl" lang="ar">{_esc(help_ar)}</p>'
        "</section>"
    )


def render(entries: Iterable[SlipEntry], school: str, login_url: str | None = None, must_change: bool = True,
           title: str | None = None) -> str:
    """The HTML document of the slips of ``entries`` (a page break between classes)."""
    fr, ar = gettext_for("fr"), gettext_for("ar")
    groups: dict[str, list[SlipEntry]] = {}
    for e in sorted(entries, key=lambda e: (_group_key(e), e.last_name.lower(), e.first_name.lower(), e.username)):
        groups.setdefault(_group_key(e), []).append(e)
    pages = []
    for key, items in groups.items():
        label = fr(_("Staff")) if key == STAFF else fr(_("Class {code}")).format(code=key)
        chunks = [items[i:i + CARDS_PER_PAGE] for i in range(0, len(items), CARDS_PER_PAGE)]
        for n, chunk in enumerate(chunks, 1):
            head = f"{_esc(school)} — {_esc(label)} — {n}/{len(chunks)}"
            cards = "".join(_card(e, school, login_url, must_change, fr, ar) for e in chunk)
            pages.append(f'<div class="page"><h1>{head}</h1><div class="cards">{cards}</div></div>')
    doc_title = title or fr(_("Cartable accounts — {school}")).format(school=school)
    if not pages:
        pages.append(f'<div class="page"><h1>{_esc(fr(LABELS["none"]))}</h1></div>')
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(doc_title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(pages)
        + "\n</body>\n</html>\n"
    )


def write_private(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def write_slips(path, entries: Iterable[SlipEntry], school: str, login_url: str | None = None,
                must_change: bool = True) -> Path:
    return write_private(path, render(entries, school, login_url, must_change))


def credentials_csv(entries: Iterable[SlipEntry]) -> str:
    """``username,password,role,class`` (classes joined with ``;``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["username", "password", "role", "class"])
    for e in sorted(entries, key=lambda e: (e.role, ";".join(e.classes), e.username)):
        w.writerow([e.username, e.password, e.role, ";".join(e.classes)])
    return buf.getvalue()


def write_credentials(path, entries: Iterable[SlipEntry]) -> Path:
    return write_private(path, credentials_csv(entries))
