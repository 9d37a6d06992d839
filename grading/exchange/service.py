"""The exchange service: a Hub-managed REST service (tornado) between pupils' servers and teachers.

Run by JupyterHub as ``python -m cartable.grading.exchange.service`` (the ``exchange``
layer of :mod:`cartable.hub.layers`). Every request carries a Hub token
(``Authorization: token …``: a pupil server's ``$JUPYTERHUB_API_TOKEN``); the service asks the
Hub who it belongs to and requires the scope ``access:services!service=cartable-exchange``.
Role and courses come from Cartable's roster tables (:mod:`cartable.grading.courses`),
never from the request. Time comes from the server clock. See ``docs/exchange.md``.

This module wires the service together (:class:`App`, the URL table, :func:`main`); the
handlers are in :mod:`.handlers`, one module per resource, the files and tables in :mod:`.store`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import zoneinfo
from pathlib import Path

from tornado import ioloop, web
from tornado.httpserver import HTTPServer

from cartable.core.db import Database
from cartable.grading.courses import CourseRegistry
from cartable.grading.exchange.handlers.announcements import AnnouncementHandler, AnnouncementsHandler
from cartable.grading.exchange.handlers.assignments import (
    AssignmentHandler,
    AssignmentsHandler,
    ExtensionHandler,
    ReleaseHandler,
    StatusHandler,
)
from cartable.grading.exchange.handlers.audit import AuditHandler
from cartable.grading.exchange.handlers.base import HealthHandler, NotFoundHandler
from cartable.grading.exchange.handlers.courses import CoursesHandler, WhoAmIHandler
from cartable.grading.exchange.handlers.exposes import ExposeHandler, ExposesHandler
from cartable.grading.exchange.handlers.feedback import FeedbackHandler, FeedbackListHandler, FeedbackUploadHandler
from cartable.grading.exchange.handlers.practice import PracticeHandler, PracticeResultHandler, SandboxHandler
from cartable.grading.exchange.handlers.submissions import (
    CollectHandler,
    SubmissionHandler,
    SubmissionsHandler,
    SubmitHandler,
)
from cartable.grading.exchange.protocol import SERVICE_NAME, Quota
from cartable.grading.exchange.store import Store

log = logging.getLogger("cartable.exchange")


class App:
    """What the handlers share."""

    def __init__(self, db: Database, root: Path, timezone: str = "UTC", quota: Quota | None = None, hub_auth=None,
                 practice_workers: int = 1, max_limits: dict | None = None, hidden: tuple[str, ...] = ()):
        from concurrent.futures import ThreadPoolExecutor

        from cartable.grading.practice import Practice

        self.db = db
        self.store = Store(root, db, quota)
        # what no submission's code may see (the store, the site's state and homes) and the most
        # a teacher's grading may ask (cartable.yaml: grading.max_limits)
        self.hidden = [str(self.store.root), *map(str, hidden), "/home", "/srv", "/root"]
        self.max_limits = max_limits
        self.practice = Practice(Path(root) / "practice", hidden=self.hidden, max_limits=max_limits)
        self.practice_pool = ThreadPoolExecutor(practice_workers, thread_name_prefix="practice")
        self.sandbox_pool = ThreadPoolExecutor(max(1, os.cpu_count() or 1), thread_name_prefix="sandbox")
        self.registry = CourseRegistry(db)
        self.tz = zoneinfo.ZoneInfo(timezone)
        self.hub_auth = hub_auth

    def local(self, when: dt.datetime | None) -> str | None:
        return None if when is None else when.replace(tzinfo=dt.UTC).astimezone(self.tz).isoformat()


def make_app(app: App, prefix: str = f"/services/{SERVICE_NAME}/") -> web.Application:
    p = prefix.rstrip("/")
    ident = r"([^/]+)"
    kw = {"app": app}
    return web.Application([
        (rf"{p}/api/health", HealthHandler, kw),
        (rf"{p}/api/whoami", WhoAmIHandler, kw),
        (rf"{p}/api/courses", CoursesHandler, kw),
        (rf"{p}/api/assignments", AssignmentsHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/submissions", SubmitHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/release", ReleaseHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/practice", PracticeHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/collect", CollectHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/status", StatusHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}/extensions/{ident}", ExtensionHandler, kw),
        (rf"{p}/api/courses/{ident}/assignments/{ident}", AssignmentHandler, kw),
        (rf"{p}/api/submissions", SubmissionsHandler, kw),
        (rf"{p}/api/submissions/(?P<sub_id>[^/]+)/feedback/(?P<notebook>[^/]+)", FeedbackUploadHandler, kw),
        (rf"{p}/api/submissions/{ident}/practice", PracticeResultHandler, kw),
        (rf"{p}/api/sandbox", SandboxHandler, kw),
        (rf"{p}/api/submissions/{ident}(?:/(archive))?", SubmissionHandler, kw),
        (rf"{p}/api/feedback", FeedbackListHandler, kw),
        (rf"{p}/api/feedback/{ident}", FeedbackHandler, kw),
        (rf"{p}/api/audit", AuditHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/announcements", AnnouncementsHandler, kw),
        (rf"{p}/api/courses/{ident}/announcements/{ident}(?:/(read))?", AnnouncementHandler, kw),
        (rf"{p}/api/courses/(?P<course>[^/]+)/exposes", ExposesHandler, kw),
        (rf"{p}/api/exposes/{ident}", ExposeHandler, kw),
    ], default_handler_class=NotFoundHandler, default_handler_args=kw)


def main(argv=None):
    from jupyterhub.services.auth import HubAuth

    from cartable.core import config, service

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    service.setup_logging()
    cfg = config.load()
    ex = cfg["exchange"]
    quota = Quota(max_bytes=int(ex["max_mb"] * 2**20), max_files=ex["max_files"], max_notebooks=ex["max_notebooks"])
    db = Database(cfg.database_url("cartable"))
    hub_auth = HubAuth(cache_max_age=120)
    app = App(db, cfg.state_dir / "exchange", cfg["school"]["timezone"], quota, hub_auth,
              max_limits=cfg["grading"]["max_limits"], hidden=(str(cfg.state_dir), str(cfg.homes_dir)))
    env = service.from_env(SERVICE_NAME, 8003, args.port)
    server = HTTPServer(make_app(app, env.prefix), max_body_size=10 * 2**30, max_buffer_size=64 * 2**20,
                        idle_connection_timeout=120, body_timeout=300)
    server.listen(env.port, env.ip)
    (app.store.root / "service.pid").write_text(str(os.getpid()))
    log.info("cartable-exchange on %s%s, files in %s", env.url, env.prefix, app.store.root)
    loop = ioloop.IOLoop.current()
    service.on_stop(service.stop_loop(loop))
    try:
        loop.start()
    finally:
        app.practice.close()


if __name__ == "__main__":
    main()
