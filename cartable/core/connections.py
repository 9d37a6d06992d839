"""Connections to the site's databases and brokers: the checks every part shares."""

from __future__ import annotations

from urllib.parse import urlparse

from cartable.core.i18n import _, bilingual


def without_password(url: str | None) -> bool:
    """Whether ``url`` (a database or broker URL) reaches a server over the network without a
    password: anything on the machine that can open that port is then trusted."""
    if not url:
        return False
    parsed = urlparse(url)
    if parsed.scheme.split("+")[0] not in ("postgresql", "postgres", "redis", "rediss", "amqp", "amqps", "pyamqp"):
        return False
    host = parsed.hostname or ""
    return bool(host) and not host.startswith("/") and not parsed.password


def password_warning(what: str, url: str | None) -> str | None:
    """The bilingual warning for a database or broker URL without a password, or None."""
    if not without_password(url):
        return None
    return bilingual(_("{what} connects without a password ({host}): give it one in the URL "
                       "(scheme://user:password@host/...); see docs/security.md."), what=what,
                     host=urlparse(url).hostname)
