"""The JupyterLab launcher's links: the lessons and dashboards the server's owner may open.

The server asks the two Hub services with its own Hub token (``$JUPYTERHUB_API_TOKEN``): the
lessons service's ``api/lessons`` (``$CARTABLE_LESSONS_URL``) and the dashboards service's
``api/dashboards`` (``$CARTABLE_DASHBOARDS_URL``). Each service decides from the token's owner,
so the request names nobody: no user, role or class the browser sends reaches them. The only
parameter is the language of the titles (presentation only).

A service that is not configured, down or answering an error leaves its part empty with
``available: false`` (logged): the launcher shows what there is, never an error.

Blocking (HTTP): the handler runs each call in a thread.
"""

from __future__ import annotations

import logging
import os
import posixpath
from urllib.parse import urljoin, urlparse

import requests

from cartable.core.i18n import normalize

log = logging.getLogger("cartable.panel")
TIMEOUT = (3, 15)  # connect, read (a lessons service busy with a class still answers its list)
LESSONS_ENV, DASHBOARDS_ENV = "CARTABLE_LESSONS_URL", "CARTABLE_DASHBOARDS_URL"


def _service(env: str) -> tuple[str, str] | None:
    """(loopback URL, public path prefix) of a service from the server's environment, or None."""
    url = os.environ.get(env, "").strip()
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not url or not token:
        return None
    if not url.endswith("/"):
        url += "/"
    return url, urlparse(url).path


def _get(base: str, path: str, host_env: str):
    headers = {"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}", "Accept": "application/json"}
    if os.environ.get(host_env):  # servers on host names of their own: the proxy routes by host
        headers["Host"] = os.environ[host_env]
    r = requests.get(urljoin(base, path), timeout=TIMEOUT, headers=headers, allow_redirects=False)
    r.raise_for_status()
    return r.json()


def _safe(url, prefix: str) -> str | None:
    """A page of the service on the hub's own origin (a path under its prefix), else None: the
    launcher opens nothing else, whatever a service answers."""
    if not isinstance(url, str) or not url.startswith(prefix) or "//" in url or "\\" in url:
        return None
    if posixpath.normpath(url) + ("/" if url.endswith("/") else "") != url or any(c in url for c in "\"'<> \n\r\t"):
        return None
    return url


def _title(titles, lang: str, fallback: str) -> str:
    titles = titles if isinstance(titles, dict) else {}
    for key in (lang, "fr", "ar", "en"):
        if isinstance(titles.get(key), str) and titles[key].strip():
            return titles[key].strip()[:200]
    return fallback


def lessons(lang: str) -> dict:
    """The owner's lessons, one item per lesson (its version in ``lang`` when it has one, else its
    French one, else its own), in the service's order."""
    svc = _service(LESSONS_ENV)
    if svc is None:
        return {"available": False, "index_url": None, "items": []}
    base, prefix = svc
    try:
        found = _get(base, "api/lessons", "CARTABLE_LESSONS_HOST")
        if not isinstance(found, list):
            raise ValueError("not a list")
    except (requests.RequestException, ValueError) as e:
        log.warning("launcher: the lessons service did not answer (%s): %s", base, str(e)[:300])
        return {"available": False, "index_url": None, "items": []}
    chosen: dict[tuple, dict] = {}
    for lesson in found:
        if not isinstance(lesson, dict) or _safe(lesson.get("url"), prefix) is None:
            continue
        key = (lesson.get("source"), lesson.get("id"))
        have = chosen.get(key)
        rank = 0 if lesson.get("lang") == lang else 1 if lesson.get("lang") == "fr" else 2
        if have is None or rank < have["_rank"]:
            chosen[key] = {**lesson, "_rank": rank}
    items = []
    for lesson in chosen.values():
        # a library lesson is titled in the user's language; a teacher's, in the one it was written in
        title_lang = (lesson.get("lang") or lang) if lesson.get("source") == "published" else lang
        items.append({
            "id": str(lesson.get("id") or ""), "source": lesson.get("source"), "subject": lesson.get("subject") or "",
            "title": _title(lesson.get("titles"), title_lang, str(lesson.get("id") or "")),
            "lang": lesson.get("lang") or "fr", "dir": "rtl" if lesson.get("lang") == "ar" else "ltr",
            "url": lesson["url"], "lite_url": _safe(lesson.get("lite_url"), prefix),
        })
    return {"available": True, "index_url": prefix, "items": items}


def dashboards(lang: str) -> dict:
    """The dashboards the owner's role allows, titled in ``lang``."""
    svc = _service(DASHBOARDS_ENV)
    if svc is None:
        return {"available": False, "index_url": None, "items": []}
    base, prefix = svc
    try:
        found = _get(base, "api/dashboards", "CARTABLE_DASHBOARDS_HOST")
        listed = found.get("dashboards") if isinstance(found, dict) else None
        if not isinstance(listed, list):
            raise ValueError("no list of dashboards")
    except (requests.RequestException, ValueError) as e:
        log.warning("launcher: the dashboards service did not answer (%s): %s", base, str(e)[:300])
        return {"available": False, "index_url": None, "items": []}
    items = [{"name": d["name"], "title": _title(d.get("titles"), lang, d["name"]), "url": d["url"]}
             for d in listed
             if isinstance(d, dict) and isinstance(d.get("name"), str) and _safe(d.get("url"), prefix)]
    return {"available": True, "index_url": prefix, "items": items}


def language(asked: str | None) -> str:
    return normalize(asked)
