"""HTTP handlers of « Mon cartable » under ``<base_url>api/cartable/`` (server login and XSRF as
for every Jupyter server API; identity towards the exchange is the server's own Hub token).

| method & path | does |
| --- | --- |
| ``GET overview`` | role, courses and assignments (pupil) or courses, who fetched/submitted, grading progress (teacher) |
| ``POST fetch`` / ``submit`` / ``feedback`` ``{course_id, assignment_id}`` | pupil: nbgrader fetch, submit (receipt), fetch feedback |
| ``POST collect`` / ``autograde`` / ``return-feedback`` ``{course_id, assignment_id}``, ``POST formgrader`` ``{course_id}`` | teacher |
| ``POST release`` ``{course_id, assignment_id, due, hard_deadline, practice}`` | teacher: ``cartable course release`` of ``source/<assignment>`` |
| ``POST extend`` ``{course_id, assignment_id, student, due, hard_deadline}`` | teacher: the pupil's own deadlines |
| ``POST announce`` ``{course_id, title, body}`` | teacher: post an announcement (plain text) |
| ``POST announcement-read`` ``{course_id, announcement_id}`` | pupil: opened, no longer unread |
| ``POST publish`` ``{course_id, path, title}`` | pupil: a notebook of the server, as HTML, published to the class |
| ``POST withdraw-expose`` ``{expose_id}`` | teacher of the course or the exposé's author |
| ``GET exposes/<id>`` | the exposé's page (HTML, sandboxed: no script runs) |
| ``GET launcher?lang=`` | the launcher's links: the lessons and dashboards the server's owner may open (asked of the two services with the server's Hub token; ``lang`` only picks the titles' language) |

Errors are ``{"error": code, "messages": {"fr", "ar", "en"}}``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from cartable.core.i18n import _
from cartable.extensions.panel import classroom, launcher, pupil, teacher
from cartable.extensions.panel.refusal import Refusal
from cartable.extensions.panel.zone import zone_rules

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class PanelHandler(APIHandler):
    root: Path

    def initialize(self, root: str):
        self.root = Path(root).expanduser().resolve()

    async def run(self, fn, *args):
        try:
            result = await IOLoop.current().run_in_executor(None, fn, *args)
        except Refusal as e:
            self.set_status(e.status)
            return self.finish(json.dumps(e.as_json(), ensure_ascii=False))
        self.finish(json.dumps(result, ensure_ascii=False, default=str))

    def body_json(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    def body_ids(self, *keys: str) -> list[str]:
        data = self.body_json()
        values = [data.get(k) for k in keys]
        if not all(isinstance(v, str) and ID.match(v) for v in values):
            raise Refusal.of(400, "bad-request", _("This request does not name a course and an assignment."))
        return values

    def write_refusal(self, e: Refusal):
        self.set_status(e.status)
        self.finish(json.dumps(e.as_json(), ensure_ascii=False))


class OverviewHandler(PanelHandler):
    @web.authenticated
    async def get(self):
        await self.run(self._overview)

    def _overview(self):
        who = pupil.whoami()
        if who.get("teaches"):
            view = teacher.overview()
        elif who.get("learns"):
            view = pupil.overview(self.root)
        else:
            view = {"role": who.get("role") or "none", "user": who.get("name"), "courses": []}
        # the school's clock changes, from the server's time zone database: browsers' may be out
        # of date (Debian's Chromium puts Casablanca at UTC+0 in winter since Morocco's 2018 change)
        return {**view, "zone": zone_rules(teacher.school_timezone())}


class LauncherHandler(PanelHandler):
    """What the launcher links to. Nothing of the request but the language is used: who the user
    is, the services learn from the server's token; an unavailable service is an empty part."""

    @web.authenticated
    async def get(self):
        lang = launcher.language(self.get_query_argument("lang", None))
        loop = IOLoop.current()
        lessons, dashboards = await asyncio.gather(loop.run_in_executor(None, launcher.lessons, lang),
                                                   loop.run_in_executor(None, launcher.dashboards, lang))
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"lang": lang, "lessons": lessons, "dashboards": dashboards}, ensure_ascii=False))


def action(fn, *keys):
    class ActionHandler(PanelHandler):
        @web.authenticated
        async def post(self):
            try:
                args = self.body_ids(*keys)
            except Refusal as e:
                return self.write_refusal(e)
            await self.run(lambda: fn(*args))

    ActionHandler.__name__ = f"{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__}_handler"
    return ActionHandler


def with_texts(fn, ids: tuple[str, ...], texts: tuple[str, ...]):
    """A POST handler whose body names ids (checked) and free texts (checked by the exchange)."""
    class TextHandler(PanelHandler):
        @web.authenticated
        async def post(self):
            try:
                args = self.body_ids(*ids)
            except Refusal as e:
                return self.write_refusal(e)
            data = self.body_json()
            texts_ = [data[k] if isinstance(data.get(k), str) else "true" if data.get(k) is True else ""
                      for k in texts]
            await self.run(lambda: fn(*args, *texts_))

    TextHandler.__name__ = f"{fn.__name__}_handler"
    return TextHandler


class ExposePageHandler(JupyterHandler):
    """An exposé's page, opened in a tab of its own: the exchange's HTML under a sandbox policy
    (no script, no form, no request anywhere), whatever the page holds."""

    def initialize(self, root: str):
        self.root = Path(root)

    @web.authenticated
    async def get(self, expose_id):
        if not ID.match(expose_id):
            raise web.HTTPError(404)
        try:
            html = await IOLoop.current().run_in_executor(None, classroom.expose_html, expose_id)
        except Refusal as e:
            self.set_status(404 if e.status in (400, 403, 404) else e.status)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.set_header("Content-Security-Policy", classroom.SANDBOX_CSP)
            return self.finish("\n".join(e.messages.values()))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", classroom.SANDBOX_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


def setup_handlers(web_app, root_dir: str) -> None:
    base = url_path_join(web_app.settings["base_url"], "api", "cartable")
    kw = {"root": root_dir}
    pupil_op = lambda fn: action(lambda c, a: fn(c, a, Path(root_dir).expanduser().resolve()),
                                 "course_id", "assignment_id")
    routes = [
        ("overview", OverviewHandler),
        ("launcher", LauncherHandler),
        ("fetch", pupil_op(pupil.fetch)),
        ("submit", pupil_op(pupil.submit)),
        ("feedback", pupil_op(pupil.fetch_feedback)),
        ("collect", action(teacher.collect, "course_id", "assignment_id")),
        ("autograde", action(teacher.autograde, "course_id", "assignment_id")),
        ("formgrader", action(teacher.formgrader, "course_id")),
        ("release", with_texts(teacher.release, ("course_id", "assignment_id"), ("due", "hard_deadline", "practice"))),
        ("extend", with_texts(teacher.extend, ("course_id", "assignment_id", "student"), ("due", "hard_deadline"))),
        ("return-feedback", action(teacher.return_feedback, "course_id", "assignment_id")),
        ("announce", with_texts(classroom.announce, ("course_id",), ("title", "body"))),
        ("announcement-read", action(classroom.mark_read, "course_id", "announcement_id")),
        ("publish", with_texts(lambda c, path, title: classroom.publish(c, path, title,
                                                                        Path(root_dir).expanduser().resolve()),
                               ("course_id",), ("path", "title"))),
        ("withdraw-expose", action(classroom.withdraw_expose, "expose_id")),
        (r"exposes/([A-Za-z0-9_-]+)", ExposePageHandler),
    ]
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler, kw) for path, handler in routes])
