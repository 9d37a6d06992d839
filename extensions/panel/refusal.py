"""Refusals shown to the user: one message in French, Arabic and English.

The exchange service already answers refusals in the three languages
(``{"message": "fr\\nar\\nen"}``, which the nbgrader plugin raises as its error text);
those are passed through unchanged. The extension's own refusals come from
:mod:`cartable.core.i18n` catalogues (``cartable/locale/*/LC_MESSAGES/lab.po``).
"""

from __future__ import annotations

from cartable.core.i18n import LANGUAGES, gettext_for


def translated(msgid: str, **params) -> dict[str, str]:
    return {lang: gettext_for(lang)(msgid).format(**params) for lang in LANGUAGES}


class Refusal(Exception):
    """An answer the panel shows as is: an HTTP status, a code, the message in each language."""

    def __init__(self, status: int, code: str, messages: dict[str, str]):
        super().__init__(messages.get("en", code))
        self.status, self.code, self.messages = status, code, messages

    @classmethod
    def of(cls, status: int, code: str, msgid: str, **params) -> Refusal:
        return cls(status, code, translated(msgid, **params))

    def as_json(self) -> dict:
        return {"error": self.code, "messages": self.messages}


def from_exchange(text: str) -> dict[str, str] | None:
    """The three languages of an exchange refusal (``fr\\nar\\nen``), or None for other errors."""
    lines = [ln.strip() for ln in str(text).strip().split("\n")]
    if len(lines) == len(LANGUAGES) and all(lines):
        return dict(zip(LANGUAGES, lines, strict=True))
    return None
