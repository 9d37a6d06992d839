"""One client of JupyterHub's REST API, for every Cartable service and command.

Lists (``/users``, ``/groups``) are read with JupyterHub's pagination (JupyterHub ≥ 2, the default
page limit is 200): the request says ``Accept: application/jupyterhub-pagination+json`` and the
client follows ``_pagination.next`` until there is none, so a school with more groups than one
page sees them all. Without that header a hub answers a bare list cut at its page limit.

Two faces on the same logic: blocking calls (:mod:`requests`, the roster sync, the pre-start and
the commands) and ``a``-prefixed coroutines (:mod:`tornado`'s client, for services running an
event loop such as the lessons service).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, urlencode

PAGINATION = "application/jupyterhub-pagination+json"


class HubAPIError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, text: str = ""):
        super().__init__(f"{method} {path}: {status} {text[:300]}")
        self.status = status


def _items_and_next(page, offset: int) -> tuple[list, int | None]:
    """The items of one answer and the offset of the next page (None: the last one). A hub that
    ignores the pagination header answers a bare list: one page, the last."""
    if isinstance(page, list):
        return page, None
    nxt = (page.get("_pagination") or {}).get("next")
    return page["items"], (nxt["offset"] if nxt else None)


class HubAPI:
    """The Hub's REST API at ``api_url`` (``…/hub/api``) with the token ``token``."""

    def __init__(self, api_url: str, token: str, timeout: float = 30, page_limit: int = 200):
        self.api = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.page_limit = page_limit
        self._session = None

    @classmethod
    def from_env(cls, **kw) -> HubAPI:
        """The API and token JupyterHub gives a service it runs (``$JUPYTERHUB_API_URL``,
        ``$JUPYTERHUB_API_TOKEN``)."""
        return cls(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], **kw)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @staticmethod
    def group_path(name: str) -> str:
        return f"/groups/{quote(name, safe='')}"

    @staticmethod
    def user_path(name: str) -> str:
        return f"/users/{quote(name, safe='')}"

    # ------------------------------------------------------------------ blocking (requests)

    @property
    def s(self):
        """The :class:`requests.Session` (made at first use) with the token."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers.update(self.headers)
        return self._session

    def raw(self, method: str, path: str, **kw):
        """The :class:`requests.Response` of one call, whatever its status."""
        return self.s.request(method, self.api + path, timeout=kw.pop("timeout", self.timeout), **kw)

    def call(self, method: str, path: str, **kw):
        """One call; its JSON answer (None when there is none). Raises :class:`HubAPIError` for
        an error status, except 404 on ``DELETE`` (already gone)."""
        r = self.raw(method, path, **kw)
        if r.status_code >= 400 and not (method == "DELETE" and r.status_code == 404):
            raise HubAPIError(method, path, r.status_code, r.text)
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def paged(self, path: str, **params) -> Iterator[dict]:
        """Every item of a list, page after page."""
        offset = 0
        while offset is not None:
            page = self.call("GET", path, params={**params, "offset": offset, "limit": self.page_limit},
                             headers={"Accept": PAGINATION})
            items, offset = _items_and_next(page, offset)
            yield from items

    def groups(self) -> dict[str, dict]:
        return {g["name"]: g for g in self.paged("/groups")}

    def users(self) -> dict[str, dict]:
        return {u["name"]: u for u in self.paged("/users")}

    def group(self, name: str) -> dict | None:
        """One group's model, None when there is no such group."""
        r = self.raw("GET", self.group_path(name))
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise HubAPIError("GET", self.group_path(name), r.status_code, r.text)
        return r.json()

    # ------------------------------------------------------------------ coroutines (tornado)

    async def afetch(self, method: str, path: str, body=None, headers: dict | None = None):
        """One call from an event loop; its JSON answer. Raises :class:`HubAPIError`."""
        from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

        req = HTTPRequest(self.api + path, method=method, headers={**self.headers, **(headers or {})},
                          body=None if body is None else json.dumps(body), request_timeout=self.timeout)
        try:
            resp = await AsyncHTTPClient().fetch(req)
        except HTTPClientError as e:
            text = e.response.body.decode("utf-8", "replace") if e.response is not None and e.response.body else ""
            raise HubAPIError(method, path, e.code, text) from None
        return json.loads(resp.body) if resp.body else None

    async def apaged(self, path: str, **params) -> AsyncIterator[dict]:
        offset = 0
        while offset is not None:
            query = urlencode({**params, "offset": offset, "limit": self.page_limit})
            page = await self.afetch("GET", f"{path}?{query}", headers={"Accept": PAGINATION})
            items, offset = _items_and_next(page, offset)
            for item in items:
                yield item

    async def agroups(self) -> dict[str, dict]:
        return {g["name"]: g async for g in self.apaged("/groups")}

    async def auser(self, name: str) -> dict:
        return await self.afetch("GET", self.user_path(name))
