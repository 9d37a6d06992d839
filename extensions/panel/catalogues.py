"""The panel's translation catalogues (gettext domain ``cartable_lab``).

Sources are the ``.po`` files ``locale/<locale>/LC_MESSAGES/cartable_lab.po`` (``fr_FR``,
``ar_SA``, ``en``: the locale names of JupyterLab's language packs). JupyterLab reads a
third-party extension's catalogues as Jed JSON next to them, found through the
``jupyterlab.locale`` entry point ``cartable_lab = cartable.extensions.panel``
(``jupyterlab_server.translation_utils.get_installed_packages_locale``);
``python -m cartable.extensions.panel.catalogues`` writes those JSON files (``make install``
does it) and ``--check`` fails when a string of the TypeScript sources has no French or
Arabic translation.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

HERE = Path(__file__).parent
SOURCES = HERE.parent / "lab" / "src"
LOCALE = HERE / "locale"
DOMAIN = "cartable_lab"
LOCALES = {"fr_FR": "fr", "ar_SA": "ar", "en": "en"}
REQUIRED = ("fr_FR", "ar_SA")
PLURALS = {"fr": "nplurals=2; plural=(n > 1);",
           "ar": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);",
           "en": "nplurals=2; plural=(n != 1);"}
CALL = re.compile(r"trans\.__\(\s*'((?:[^'\\]|\\.)*)'")


def source_messages(src: Path = SOURCES) -> dict[str, set[str]]:
    """Every ``trans.__('…')`` msgid of the TypeScript sources, with the files using it."""
    found: dict[str, set[str]] = {}
    for ts in sorted(src.glob("*.ts")):
        for m in CALL.finditer(ts.read_text(encoding="utf-8")):
            found.setdefault(m.group(1).replace("\\'", "'"), set()).add(ts.name)
    return found


def po_path(locale: str) -> Path:
    return LOCALE / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(locale: str) -> dict[str, str]:
    with po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=LOCALES[locale], domain=DOMAIN)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}


def jed(locale: str) -> dict:
    """The catalogue in the Jed JSON shape of JupyterLab's language packs."""
    lang = LOCALES[locale]
    data: dict = {"": {"domain": DOMAIN, "language": locale.replace("_", "-"), "plural_forms": PLURALS[lang],
                       "version": "cartable"}}
    for msgid, msgstr in sorted(read(locale).items()):
        if msgstr:
            data[msgid] = [msgstr]
    return data


def missing(locale: str) -> list[str]:
    have = read(locale)
    return sorted(m for m in source_messages() if not have.get(m))


def placeholder_errors(locale: str) -> list[str]:
    out = []
    for msgid, msgstr in read(locale).items():
        if msgstr and sorted(re.findall(r"%\d", msgid)) != sorted(re.findall(r"%\d", msgstr)):
            out.append(msgid)
    return out


def write_json() -> list[Path]:
    written = []
    for locale in LOCALES:
        path = po_path(locale).with_suffix(".json")
        text = json.dumps(jed(locale), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    problems = {loc: missing(loc) for loc in REQUIRED}
    problems = {loc: m for loc, m in problems.items() if m}
    bad = {loc: placeholder_errors(loc) for loc in LOCALES}
    bad = {loc: m for loc, m in bad.items() if m}
    for loc, msgs in problems.items():
        print(f"{po_path(loc)}: {len(msgs)} untranslated: {msgs}", file=sys.stderr)
    for loc, msgs in bad.items():
        print(f"{po_path(loc)}: placeholders differ: {msgs}", file=sys.stderr)
    if "--check" in argv:
        return 1 if problems or bad else 0
    for p in write_json():
        print(p.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
