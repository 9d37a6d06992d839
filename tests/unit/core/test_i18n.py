"""Every string a user reads has a French and an Arabic translation."""

from __future__ import annotations

import pytest

from cartable.core import i18n


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_every_message_is_translated(lang):
    missing = {m: sorted(w) for m, w in i18n.extract_messages().items() if not i18n.has_translation(lang, m)}
    assert not missing, f"{len(missing)} messages without a {lang} translation: {missing}"


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_translations_keep_their_placeholders(lang):
    import string

    t = i18n.translations(lang)
    fmt = string.Formatter()
    for msgid in i18n.extract_messages():
        translated = t.gettext(msgid)
        try:
            want = {f for _, f, _, _ in fmt.parse(msgid) if f}
        except ValueError:
            continue
        got = {f for _, f, _, _ in fmt.parse(translated) if f}
        assert got == want, (msgid, translated)


def test_language_helpers():
    assert i18n.normalize("ar-MA") == "ar"
    assert i18n.normalize("fr_FR") == "fr"
    assert i18n.normalize("de") == "fr"
    assert i18n.normalize(None) == "fr"
    assert i18n.direction("ar") == "rtl"
    assert i18n.direction("fr") == "ltr"
    assert i18n.bilingual("Sign in") == "Se connecter\nSign in"
