"""The dashboards service: Voilà notebooks behind the Hub's OAuth, one filtered view per viewer.

Run by JupyterHub as ``python -m cartable.grading.dashboards.service`` (the ``dashboards`` layer of
:mod:`cartable.hub.layers`), at ``/services/cartable-dashboards/``. It is Voilà's own tornado
application (:class:`voila.app.Voila`) with four changes:

- **identity**: :class:`HubIdentityProvider` authenticates every request with the Hub's OAuth
  (``jupyterhub.services.auth.HubOAuth``: the service's cookie, set by the OAuth callback, checked
  with the Hub); the viewer's groups and scopes come from the Hub's model of their token, never
  from the request;
- **routes**: only the four dashboards (``progress``, ``class``, ``school``, ``inspection``), an
  index (and its JSON form ``api/dashboards``, for a Hub token), Voilà's static assets, and the
  kernel endpoints; no tree, no contents API, no ``/voila/files``, no ``/voila/render`` —
  notebooks and data cannot be downloaded;
- **data to the kernel**: :class:`DashboardHandler` writes what the viewer may see into a private
  folder (:func:`cartable.grading.dashboards.data.write_bundle`) and :class:`DashboardKernelManager`
  puts that folder's path into the new kernel's environment, through a context variable set
  by the handler for the request being served — the browser has no way to name another folder;
  the kernel's environment keeps none of the service's secrets (its Hub token);
- **kernels**: Voilà lets the browser send only widget messages (no ``execute_request``);
  :class:`KernelOwnerAuthorizer` also lets a viewer reach only the kernels started for them.
  They start through the ``cartable-dashboard`` kernelspec, whose launcher
  (:mod:`cartable.core.kernel_account`) drops them, when the service is root, to the
  unprivileged account ``--kernel-user`` (``cartable-dashboard``), which owns the page's bundle
  folder and nothing else of the site.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import html
import json
import logging
import os
import shutil
from pathlib import Path

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import web
from traitlets import Instance, default
from voila.app import Voila

from cartable.core.i18n import LANGUAGES, _, direction, gettext_for, normalize
from cartable.core.kernel_account import USER_ENV, account_env, kernel_account
from cartable.grading.dashboards.access import DASHBOARDS, Viewer, viewer_from_model
from cartable.grading.dashboards.data import VIEW_ENV, GradeStore, remove_bundle, write_bundle

log = logging.getLogger("cartable.dashboards")
SERVICE_NAME = "cartable-dashboards"
NOTEBOOKS = Path(__file__).parent.parent / "dashboard_notebooks"
#: The kernelspec of the dashboard notebooks (in SHARE): the kernel launcher of
#: :mod:`cartable.core.kernel_account`.
KERNEL_NAME = "cartable-dashboard"
SHARE = Path(__file__).parent.parent / "share" / "jupyter"
#: The page being served: (username, bundle folder). Set by DashboardHandler, read by the kernel manager.
CURRENT_VIEW: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("cartable_view", default=None)
#: What a dashboard kernel inherits of the service's environment (nothing secret).
KERNEL_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR",
                   "MPLCONFIGDIR", "CARTABLE_COURSES")
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; "
       "frame-ancestors 'self'; base-uri 'self'")


# --------------------------------------------------------------------------- identity


class HubIdentityProvider(IdentityProvider):
    """jupyter_server's identity from the Hub's OAuth (as JupyterHub's own single-user server does):
    the user model the Hub gives for the viewer's token, with its groups and scopes, is kept on the
    request handler as ``hub_user``."""

    hub_auth = Instance(HubOAuth)

    @property
    def token(self):
        return ""  # never a token in URLs or pages

    token_generated = False

    def __init__(self, token=None, **kw):  # Voilà passes a token; the Hub's OAuth is the only way in
        super().__init__(**kw)

    @default("hub_auth")
    def _default_hub_auth(self):
        return HubOAuth(parent=self, cache_max_age=60)

    async def get_user(self, handler) -> User | None:
        if hasattr(handler, "hub_user"):
            return handler._cartable_user
        handler.hub_user = None
        handler._cartable_user = None
        self._patch_login_url(handler)
        self.hub_auth._patch_xsrf(handler)
        model = await self.hub_auth.get_user(handler, sync=False)
        if model is None:
            return None
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            def forbidden(*_a, **_k):
                raise web.HTTPError(403, "not allowed to use the dashboards")

            handler.redirect = forbidden
            return None
        handler.hub_user = model
        handler._cartable_user = User(username=model["name"], name=model["name"], display_name=model["name"])
        return handler._cartable_user

    def _patch_login_url(self, handler):
        """``@web.authenticated`` sends browsers to the Hub's OAuth authorize URL, with a state."""
        from tornado.httputil import url_concat

        def login_url():
            if getattr(handler, "_hub_login_url", None):
                return handler._hub_login_url
            params, verifier = {}, None
            if self.hub_auth.pkce_enabled:
                verifier, challenge, method = self.hub_auth.generate_pkce_code_challenge()
                params.update(code_challenge=challenge, code_challenge_method=method)
            params["state"] = self.hub_auth.set_state_cookie(handler, next_url=handler.request.uri,
                                                             code_verifier=verifier)
            handler._hub_login_url = url_concat(self.hub_auth.login_url, params)
            return handler._hub_login_url

        handler.get_login_url = login_url

    def validate_security(self, app, ssl_options=None):
        return


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """JupyterHub's OAuth callback, given the service's HubOAuth."""

    def initialize(self, hub_auth):
        self.hub_auth = hub_auth


# --------------------------------------------------------------------------- kernels


def kernel_env(env: dict | None, bundle: str) -> dict:
    """A dashboard kernel's environment: the service's harmless variables, the bundle's folder and
    the account the launcher drops to; no Hub token, no request data (query string, headers)."""
    env = env or {}
    out = {k: v for k, v in env.items() if k in KERNEL_ENV_KEEP or k.startswith("VOILA_")}
    out.pop("VOILA_REQUEST_URL", None)  # carries the query string
    out[VIEW_ENV] = bundle
    out.update(account_env())
    out.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return out


class DashboardKernelManager(AsyncMappingKernelManager):
    """Starts a kernel only for a page DashboardHandler is serving, with that page's bundle, and
    remembers whose it is; shutting it down removes the bundle."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.owners: dict[str, str] = {}
        self.bundles: dict[str, str] = {}

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        current = CURRENT_VIEW.get()
        if current is None:
            raise web.HTTPError(403, "kernels start only for a dashboard page")
        if kwargs.get("kernel_name") != KERNEL_NAME:  # only the launcher that drops to the kernels' account
            raise web.HTTPError(403, "dashboard kernels start only through their kernelspec")
        username, bundle = current
        kwargs["env"] = kernel_env(kwargs.get("env"), bundle)
        if os.geteuid() == 0 and not kwargs["env"].get(USER_ENV):
            raise web.HTTPError(500, "no account for the dashboards' kernels: they do not run as root")
        kid = await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        self.owners[kid] = username
        self.bundles[kid] = bundle
        return kid

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        try:
            return await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        finally:
            if not restart:
                self.owners.pop(kernel_id, None)
                remove_bundle(self.bundles.pop(kernel_id, None))

    async def restart_kernel(self, kernel_id, now=False):
        raise web.HTTPError(403, "dashboard kernels are not restarted")


class KernelOwnerAuthorizer(Authorizer):
    """A viewer may reach (websocket, info, shut down) only the kernels started for them."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        if user is None:
            return False
        if resource != "kernels":
            return False
        kernel_id = (handler.path_kwargs or {}).get("kernel_id") or (handler.path_args[0] if handler.path_args else None)
        owners = getattr(handler.settings.get("kernel_manager"), "owners", {})
        return kernel_id is not None and owners.get(kernel_id) == user.username


V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def binary_header(message: bytes, v1: bool) -> dict | None:
    """The header of a binary kernel message as sent to the browser, or None if it cannot be read.

    jupyter_server frames binary messages in one of two ways: the ``v1.kernel.websocket.jupyter.org``
    protocol (count and offsets as 8-byte little-endian integers) or the legacy one (4-byte
    big-endian). Voilà 0.5.13's handler reads every binary message as v1, so a legacy client asking
    for widget state with binary buffers (an image) gets an offset count in the billions and the
    service builds a list that size until memory runs out; this reads each protocol as it is, with
    bounds checked."""
    try:
        if v1:
            count = int.from_bytes(message[:8], "little")
            if count < 3 or 8 * (count + 1) > len(message):
                return None
            offsets = [int.from_bytes(message[8 * (i + 1):8 * (i + 2)], "little") for i in range(3)]
            return json.loads(message[offsets[1]:offsets[2]].decode("utf-8"))
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message

        if len(message) < 8 or 4 * (int.from_bytes(message[:4], "big") + 1) > len(message):
            return None
        return deserialize_binary_message(message)["header"]
    except Exception:  # unreadable: not sent
        return None


def websocket_handler_class():
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler, WebsocketHandler

    class KernelWebsocketHandler(VoilaKernelWebsocketHandler):
        """Voilà's kernel websocket (widget messages only), reading binary messages safely."""

        def write_message(self, message, binary=False):
            if isinstance(message, bytes):
                header = binary_header(message, self.selected_subprotocol == V1_PROTOCOL)
                if header is None or header.get("msg_type") == "execute_input":
                    return None
                return WebsocketHandler.write_message(self, message, binary)
            return super().write_message(message, binary)

    return KernelWebsocketHandler


# --------------------------------------------------------------------------- pages


def viewer_language(handler, site_language: str, db) -> str:
    """The page's language: ``?lang=`` (fr, ar, en: presentation only), else the person's, else the site's."""
    asked = handler.get_argument("lang", None)
    if asked and asked.split("-")[0].lower() in LANGUAGES:
        return normalize(asked)
    if db is not None and handler.current_user is not None:
        from cartable.core.db import Person

        with db.session() as s:
            p = s.get(Person, handler.current_user.username)
            if p is not None and p.language:
                return normalize(p.language)
    return normalize(site_language)


class ServiceMixin:
    """What the service's own handlers share."""

    @property
    def service(self) -> DashboardsApp:
        return self.settings["cartable_service"]

    def viewer(self) -> Viewer:
        return viewer_from_model(self.hub_user, self.service.admins)

    def set_security_headers(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Content-Security-Policy", CSP)

    def refuse_page(self, status: int, message: str, lang: str):
        t = gettext_for(lang)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(page_html(lang, t(_("Dashboards")), f"<p>{html.escape(t(message))}</p>"
                              f"<p><a href='{html.escape(self.service.index_url)}'>{html.escape(t(_('My dashboards')))}</a></p>"))


def page_html(lang: str, title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='{lang}' dir='{direction(lang)}'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:'DejaVu Sans',sans-serif;margin:2em;}}"
            f"li{{margin:0.4em 0;}}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


class IndexHandler(ServiceMixin, web.RequestHandler):
    """The dashboards the viewer may open, in their language."""

    async def prepare(self):
        self.set_security_headers()
        await self.service.identity_provider.get_user(self)
        self.current_user = getattr(self, "_cartable_user", None)

    @web.authenticated
    def get(self):
        viewer = self.viewer()
        lang = viewer_language(self, self.service.site_language, self.service.db)
        t = gettext_for(lang)
        links = "".join(f"<li><a href='{html.escape(self.service.index_url + d)}'>{html.escape(t(DASHBOARDS[d]['title']))}</a></li>"
                        for d in viewer.dashboards)
        body = f"<ul>{links}</ul>" if links else f"<p>{html.escape(t(_('No dashboard for your account.')))}</p>"
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(page_html(lang, t(_("My dashboards")), body))


class ApiDashboardsHandler(ServiceMixin, web.RequestHandler):
    """``api/dashboards``: the dashboards the caller may open, as JSON (what the index lists), for
    scripts and servers calling with a Hub token (the JupyterLab launcher's links). Who the caller
    is comes from the token only; the titles come in French, Arabic and English."""

    async def prepare(self):
        self.set_security_headers()
        await self.service.identity_provider.get_user(self)
        self.current_user = getattr(self, "_cartable_user", None)

    def get(self):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if self.current_user is None:  # no redirect to a login page: this is an API
            self.set_status(403)
            return self.finish(json.dumps({"error": 403, "message": "not allowed to use the dashboards"}))
        viewer = self.viewer()
        items = [{"name": d, "url": self.service.index_url + d,
                  "titles": {lang: gettext_for(lang)(DASHBOARDS[d]["title"]) for lang in LANGUAGES}}
                 for d in viewer.dashboards]
        self.finish(json.dumps({"role": viewer.role, "index_url": self.service.index_url, "dashboards": items},
                               ensure_ascii=False))


from voila.tornado.handler import TornadoVoilaHandler  # noqa: E402


class DashboardHandler(ServiceMixin, TornadoVoilaHandler):
    """One dashboard notebook through Voilà, after checking the viewer may open it; the viewer's
    rows go to the kernel through a bundle folder (see the module's documentation)."""

    def initialize(self, **kwargs):
        self.dashboard = kwargs.pop("dashboard")
        super().initialize(**kwargs)

    def set_default_headers(self):
        super().set_default_headers()
        self.set_security_headers()

    @web.authenticated
    async def get(self, path=None):
        viewer = self.viewer()
        lang = viewer_language(self, self.service.site_language, self.service.db)
        if not viewer.may_open(self.dashboard):
            log.warning("%s (%s) refused dashboard %s", viewer.username, viewer.role, self.dashboard)
            return self.refuse_page(403, _("This dashboard is not for your account."), lang)
        # reading changed gradebooks and filtering may take a while on a large site: not on the event loop
        bundle = await asyncio.get_running_loop().run_in_executor(
            None, write_bundle, self.service.views_dir, viewer, self.dashboard, self.service.store, lang,
            self.service.school_name, self.service.kernel_user)
        token = CURRENT_VIEW.set((viewer.username, str(bundle)))
        try:
            await super().get(None)
        finally:
            CURRENT_VIEW.reset(token)
            if str(bundle) not in self.kernel_manager.bundles.values():
                remove_bundle(bundle)


def shutdown_handler_class():
    from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler

    class ShutdownHandler(VoilaShutdownKernelHandler):
        """Voilà's shut-down on page unload, for the kernel's own viewer only (Voilà's checks only
        that someone is signed in)."""

        @web.authenticated
        async def post(self, kernel_id):
            owners = getattr(self.kernel_manager, "owners", {})
            if self.current_user is None or owners.get(kernel_id) != self.current_user.username:
                raise web.HTTPError(403)
            await super().post(kernel_id)

    return ShutdownHandler


class NotFound(web.RequestHandler):
    def prepare(self):
        raise web.HTTPError(404)


# --------------------------------------------------------------------------- the application


class DashboardsApp(Voila):
    """Voilà's application with Cartable's identity, routes and kernels."""

    name = "cartable-dashboards"
    #: the account the kernels drop to and their bundles belong to (None: the service's own, not root)
    kernel_user: str | None = None

    def init_settings(self):
        self.voila_configuration.multi_kernel_manager_class = DashboardKernelManager
        settings = super().init_settings()
        settings["cartable_service"] = self
        settings["hub_auth"] = self.identity_provider.hub_auth
        settings["xsrf_cookies"] = True
        return settings

    def listen(self):
        """Listen on the service's port; while it is taken, wait and try again rather than exit (a
        managed service that exits at start-up stops the whole hub)."""
        import errno
        import time

        import tornado.ioloop

        waited = 0.0
        while True:
            try:
                self.app.listen(self.port, self.ip)
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                if waited % 30 == 0:
                    log.error("port %s is taken: the dashboards wait for it (%.0f s so far)", self.port, waited)
                time.sleep(2)
                waited += 2
        log.info("dashboards listening on %s:%s", self.ip, self.port)
        self.ioloop = tornado.ioloop.IOLoop.current()
        try:
            self.ioloop.start()
        finally:
            self.stop()

    def init_handlers(self):
        from jupyter_server.base.handlers import FileFindHandler
        from jupyter_server.services.kernels.handlers import KernelHandler
        from jupyter_server.utils import url_path_join as join
        from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler
        from voila.utils import get_voila_labextensions_path

        kernel = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"
        base = self.server_url
        handlers = [
            (join(base, "/"), IndexHandler),
            (join(base, "/api/dashboards"), ApiDashboardsHandler),
            (join(base, "/oauth_callback"), OAuthCallbackHandler, {"hub_auth": self.identity_provider.hub_auth}),
            (join(base, rf"/api/kernels/{kernel}"), KernelHandler),
            (join(base, rf"/api/kernels/{kernel}/channels"), websocket_handler_class()),
            (join(base, r"/voila/templates/(.*)"), TemplateStaticFileHandler),
            (join(base, r"/voila/static/(.*)"), MultiStaticFileHandler,
             {"paths": self.static_paths, "default_filename": "index.html"}),
            (join(base, rf"/voila/api/shutdown/{kernel}"), shutdown_handler_class()),
            (join(base, r"/voila/labextensions/(.*)"), FileFindHandler,
             {"path": get_voila_labextensions_path(self.voila_configuration.extra_labextensions_path),
              "no_cache_paths": ["/"]}),
        ]
        for name in DASHBOARDS:
            handlers.append((join(base, f"/{name}"), DashboardHandler, {
                "dashboard": name, "notebook_path": f"{name}.ipynb", "template_paths": self.template_paths,
                "config": self.config, "voila_configuration": self.voila_configuration}))
        handlers.append((join(base, r"/.*"), NotFound))
        return handlers


def voila_config(port: int, prefix: str, ip: str = "127.0.0.1"):
    from traitlets.config import Config

    c = Config()
    c.Voila.ip = ip
    c.Voila.port = port
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.base_url = prefix
    c.Voila.root_dir = str(NOTEBOOKS)
    c.Voila.identity_provider_class = HubIdentityProvider
    c.Voila.authorizer_class = KernelOwnerAuthorizer
    c.Voila.tornado_settings = {"headers": {"Content-Security-Policy": CSP}}
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.allow_template_override = "NO"
    c.VoilaConfiguration.allow_theme_override = "NO"
    c.VoilaConfiguration.file_allowlist = []
    c.VoilaConfiguration.file_denylist = [".*"]
    c.VoilaConfiguration.http_header_envs = []
    c.VoilaConfiguration.preheat_kernel = False
    # a dashboard left open without activity gives its kernel back after ten minutes
    c.MappingKernelManager.cull_idle_timeout = 600
    c.MappingKernelManager.cull_interval = 60
    c.MappingKernelManager.cull_connected = False
    return c


def prepare_state(root: Path, kernel_user: str | None) -> Path:
    """The service's folder ``<state>/dashboards`` at start: ``views/`` (the pages' bundles) emptied,
    ``kernels/`` the kernels' runtime directory (:func:`cartable.core.kernel_account.kernel_account`).
    With ``kernel_user`` (the service is root) that account reaches ``kernels/`` (its own) and its
    page's bundle, and lists neither ``root`` nor ``views/`` (0711); otherwise both are 0700.
    Returns ``views/``."""
    views = root / "views"
    shutil.rmtree(views, ignore_errors=True)  # views of a previous run: their kernels are gone
    views.mkdir(mode=0o700, parents=True, exist_ok=True)
    for d in (views, root):
        os.chmod(d, 0o711 if kernel_user else 0o700)
    kernel_account(root / "kernels", kernel_user)
    return views


def main(argv=None):
    from cartable.core import config, service
    from cartable.core.db import Database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--kernel-user", default=None,
                        help="the account the dashboards' kernels run as (needed when the service is root)")
    args = parser.parse_args(argv)
    service.setup_logging()
    if os.geteuid() == 0 and not args.kernel_user:
        parser.error("running as root: --kernel-user is required (the dashboards' kernels do not run as root)")
    cfg = config.load()
    env = service.from_env(SERVICE_NAME, 8005, args.port)
    prefix = env.prefix
    app = DashboardsApp(config=voila_config(env.port, prefix, env.ip))
    app.db = Database(cfg.database_url("cartable"))
    app.store = GradeStore(app.db, cfg.homes_dir)
    app.admins = set(cfg["auth"]["admins"])
    app.site_language = cfg["school"].get("language") or "fr"
    app.school_name = cfg["school"]["name"]
    app.index_url = prefix
    app.kernel_user = args.kernel_user if os.geteuid() == 0 else None
    app.views_dir = prepare_state(cfg.state_dir / "dashboards", app.kernel_user)
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(SHARE), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    app.initialize([])
    log.info("cartable-dashboards on %s%s", env.url, prefix)
    app.start()


if __name__ == "__main__":
    main()
