"""The one HTTP client of the exchange service.

Used by nbgrader's plug-ins (:mod:`.nbgrader`), by ``cartable course`` and by the panel
(``cartable.extensions.panel``); the service's URL paths are written here only. The caller is
identified by a Hub token (a server's ``$JUPYTERHUB_API_TOKEN``); the service's URL is
``$CARTABLE_EXCHANGE_URL`` (set by the spawner). Every failure, a refusal of the service or a
service out of reach, is raised as :class:`ExchangeRefusal`, whose text is the refusal as the
service wrote it: French, Arabic and English on three lines.

This module imports neither SQLAlchemy nor the store: it runs in every pupil's server.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests

DEFAULT_TIMEOUT = 120.0
GZIP = {"Content-Type": "application/gzip"}


class ExchangeRefusal(Exception):
    """What the exchange refused (``status``, ``code``, ``messages`` by language, as the service sent
    them) or why it could not be asked (``status`` None). ``str()`` is the refusal's text."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 messages: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.messages = messages


class ExchangeClient:
    """One caller (a Hub token) of one exchange service (its base URL, ending in the service prefix)."""

    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url or ""
        self.token = token or ""
        self.timeout = timeout

    @classmethod
    def from_environment(cls, timeout: float = DEFAULT_TIMEOUT) -> ExchangeClient:
        """The client of the server this runs in: ``$CARTABLE_EXCHANGE_URL`` and ``$JUPYTERHUB_API_TOKEN``."""
        return cls(os.environ.get("CARTABLE_EXCHANGE_URL", ""), os.environ.get("JUPYTERHUB_API_TOKEN", ""), timeout)

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.token)

    # -- transport ---------------------------------------------------------------------
    def url(self, path: str) -> str:
        if not self.base_url:
            raise ExchangeRefusal("The exchange service is not configured ($CARTABLE_EXCHANGE_URL is empty).")
        return self.base_url.rstrip("/") + "/api/" + path.lstrip("/")

    def _request(self, method: str, path: str, *, timeout: float | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kw.pop("headers", {})}
        url = self.url(path)
        try:
            r = requests.request(method, url, headers=headers, timeout=timeout or self.timeout, **kw)
        except requests.RequestException as e:
            raise ExchangeRefusal(f"The exchange service cannot be reached / Le service d'échange est injoignable: "
                                  f"{e}") from e
        if r.status_code not in (200, 201):
            code = messages = None
            try:
                body = r.json()
                message = body.get("message") or r.text
                code, messages = body.get("error"), body.get("messages")
            except (ValueError, AttributeError):
                message = r.text[:500]
            raise ExchangeRefusal(message, status=r.status_code, code=code, messages=messages)
        return r

    def _json(self, method: str, path: str, **kw) -> Any:
        return self._request(method, path, **kw).json()

    def _bytes(self, path: str) -> bytes:
        return self._request("GET", path).content

    @staticmethod
    def _params(**params) -> dict:
        return {k: v for k, v in params.items() if v}

    # -- who ---------------------------------------------------------------------------
    def whoami(self) -> dict:
        return self._json("GET", "whoami")

    def courses(self) -> list[dict]:
        return self._json("GET", "courses")

    # -- assignments -------------------------------------------------------------------
    def assignments(self, course_id: str | None = None, assignment_id: str | None = None) -> list[dict]:
        """The released assignments the caller may see (of one course, or every course of theirs)."""
        return self._json("GET", "assignments", params=self._params(course_id=course_id, assignment_id=assignment_id))

    def assignment_url(self, course: str, assignment: str) -> str:
        return self.url(f"courses/{course}/assignments/{assignment}")

    def fetch_assignment(self, course: str, assignment: str) -> bytes:
        """The released files (tar.gz)."""
        return self._bytes(f"courses/{course}/assignments/{assignment}")

    def release(self, course: str, assignment: str, archive: bytes, *, due: str | None = None,
                hard_deadline: str | None = None, penalty_per_day: str | None = None) -> dict:
        """Teacher: release (or replace) an assignment's files (tar.gz) with its deadlines."""
        return self._json("POST", f"courses/{course}/assignments/{assignment}/release", data=archive, headers=GZIP,
                          params=self._params(due=due, hard_deadline=hard_deadline, penalty_per_day=penalty_per_day))

    def extend(self, course: str, assignment: str, pupil: str, due: str | None,
               hard_deadline: str | None = None) -> dict:
        """Teacher: a pupil's own deadlines (school time when without an offset)."""
        return self._json("PUT", f"courses/{course}/assignments/{assignment}/extensions/{pupil}",
                          data=json.dumps({"due": due, "hard_deadline": hard_deadline}))

    def status(self, course: str, assignment: str) -> list[dict]:
        """Teacher: every pupil of the course, their submissions of ``assignment`` and lateness."""
        return self._json("GET", f"courses/{course}/assignments/{assignment}/status")

    def practice_on(self, course: str, assignment: str, source: bytes) -> dict:
        """Teacher: the source (tar.gz, with solutions and hidden tests) to grade each submission with."""
        return self._json("PUT", f"courses/{course}/assignments/{assignment}/practice", data=source, headers=GZIP)

    # -- submissions -------------------------------------------------------------------
    def submit(self, course: str, assignment: str, archive: bytes) -> dict:
        """Pupil: the assignment folder (tar.gz); the receipt."""
        return self._json("POST", f"courses/{course}/assignments/{assignment}/submissions", data=archive,
                          headers=GZIP)

    def submissions(self, course_id: str | None = None, assignment_id: str | None = None) -> list[dict]:
        """A pupil's own submissions; a teacher's, of a course they teach."""
        return self._json("GET", "submissions", params=self._params(course_id=course_id, assignment_id=assignment_id))

    def submission_url(self, submission: str) -> str:
        return self.url(f"submissions/{submission}")

    def submission_archive(self, submission: str) -> bytes:
        return self._bytes(f"submissions/{submission}/archive")

    def collect(self, course: str, assignment: str, mode: str = "on_time", pupil: str | None = None) -> list[dict]:
        """Teacher: the submission of each pupil to grade (``on_time``: the latest on time, else the latest)."""
        return self._json("GET", f"courses/{course}/assignments/{assignment}/collect",
                          params=self._params(mode=mode, pupil=pupil))

    def practice_result(self, submission: str) -> dict:
        """The grading on submit of one submission (``{"status": "off"}`` when not in practice mode)."""
        return self._json("GET", f"submissions/{submission}/practice")

    def sandbox(self, request: dict, timeout: float) -> dict:
        """Teacher: run one notebook's cells in the service's sandbox (:class:`~cartable.grading.autograde.RemoteSandbox`)."""
        return self._json("POST", "sandbox", json=request, timeout=timeout)

    # -- feedback ----------------------------------------------------------------------
    def feedback(self, course_id: str | None = None, assignment_id: str | None = None) -> list[dict]:
        return self._json("GET", "feedback", params=self._params(course_id=course_id, assignment_id=assignment_id))

    def feedback_html(self, feedback: str) -> bytes:
        return self._bytes(f"feedback/{feedback}")

    def put_feedback(self, submission: str, notebook: str, html: bytes) -> dict:
        """Teacher: the feedback (HTML) on one notebook of one submission."""
        return self._json("PUT", f"submissions/{submission}/feedback/{notebook}", data=html,
                          headers={"Content-Type": "text/html"})

    # -- audit -------------------------------------------------------------------------
    def audit(self, course_id: str | None = None, limit: int | None = None) -> list[dict]:
        return self._json("GET", "audit", params=self._params(course_id=course_id,
                                                              limit=str(limit) if limit else None))

    # -- the class's space -------------------------------------------------------------
    def announcements(self, course: str) -> list[dict]:
        return self._json("GET", f"courses/{course}/announcements")

    def announce(self, course: str, title: str, body: str) -> dict:
        return self._json("POST", f"courses/{course}/announcements", json={"title": title, "body": body})

    def mark_read(self, course: str, announcement: str) -> dict:
        return self._json("POST", f"courses/{course}/announcements/{announcement}/read")

    def exposes(self, course: str) -> list[dict]:
        return self._json("GET", f"courses/{course}/exposes")

    def publish_expose(self, course: str, title: str, notebook: str, html: str) -> dict:
        return self._json("POST", f"courses/{course}/exposes", params={"title": title, "notebook": notebook},
                          data=html.encode("utf-8"), headers={"Content-Type": "text/html; charset=UTF-8"})

    def expose_html(self, expose: str) -> bytes:
        return self._bytes(f"exposes/{expose}")

    def withdraw_expose(self, expose: str) -> dict:
        return self._json("DELETE", f"exposes/{expose}")
