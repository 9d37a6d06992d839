"""Translations for everything a user reads.

Catalogues are the ``.po`` files under ``cartable/locale/<lang>/LC_MESSAGES/``,
one file per area (``hub.po``, ``roster.po``, ``courses.po`` …), merged and compiled
in memory with Babel when first used, so there is no build step to forget. French is
the default language, then Arabic (right-to-left), then English.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "cartable"
LOCALE_DIR = Path(__file__).parent.parent / "locale"
LANGUAGES = ("fr", "ar", "en")
DEFAULT_LANGUAGE = "fr"
RTL_LANGUAGES = frozenset({"ar"})


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``lang`` (a null catalogue for English or unknown)."""
    files = sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))
    if not files:
        return gettext.NullTranslations()
    merged = None
    for po in files:
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        if merged is None:
            merged = catalog
        else:
            for message in catalog:
                if message.id and message.string:
                    merged[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def has_translation(lang: str, msgid: str) -> bool:
    """Whether ``lang``'s catalogues translate ``msgid`` (even to the same words)."""
    return bool(getattr(translations(lang), "_catalog", {}).get(msgid))


def gettext_for(lang: str):
    """A ``gettext`` function bound to ``lang``."""
    return translations(normalize(lang)).gettext


def normalize(lang: str | None) -> str:
    """Map ``fr_FR``, ``ar-MA``, ``AR`` … to one of :data:`LANGUAGES`."""
    if not lang:
        return DEFAULT_LANGUAGE
    short = lang.replace("-", "_").split("_")[0].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def direction(lang: str) -> str:
    """``rtl`` for right-to-left languages, else ``ltr``."""
    return "rtl" if normalize(lang) in RTL_LANGUAGES else "ltr"


def bilingual(message: str, **kwargs) -> str:
    """A message in French then English, for logs and errors read before a language is known."""
    fr = gettext_for("fr")(message).format(**kwargs)
    en = message.format(**kwargs)
    return fr if fr == en else f"{fr}\n{en}"


def _(message: str) -> str:
    """Mark ``message`` for extraction; translate later with :func:`gettext_for`."""
    return message


def extract_messages(root: Path | None = None) -> dict[str, set[str]]:
    """Every msgid the project uses, with where: ``_("…")`` in Python, ``tr("…")`` in
    hub templates, and the ``description`` of each key of the configuration schema."""
    import re

    import yaml
    from babel.messages.extract import extract_from_file

    root = Path(root or Path(__file__).resolve().parents[2])
    found: dict[str, set[str]] = {}

    def add(msgid, where):
        found.setdefault(msgid, set()).add(where)

    for folder in ("cartable", "hub", "grading", "extensions"):
        for py in sorted((root / folder).rglob("*.py")):
            for _lineno, msgid, _comments, _ctx in extract_from_file("python", str(py), keywords={"_": None}):
                if isinstance(msgid, str) and msgid:
                    add(msgid, f"{py.relative_to(root)}")
    for html in sorted((root / "hub" / "templates").rglob("*.html")):
        for msgid in re.findall(r'tr\("((?:[^"\\]|\\.)*)"\)', html.read_text(encoding="utf-8")):
            add(msgid, f"{html.relative_to(root)}")

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("description"), str):
                add(node["description"], "cartable/core/schema.yaml")
            for v in node.values():
                walk(v)

    walk(yaml.safe_load((root / "cartable" / "core" / "schema.yaml").read_text(encoding="utf-8")))
    return found
