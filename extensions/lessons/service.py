"""The ``cartable-lessons`` service: lessons as read-only Voilà pages, behind the Hub's OAuth.

Run by JupyterHub (the ``lessons`` layer of :mod:`cartable.hub.layers`) as
``python -m cartable.extensions.lessons.service --root <state>/lessons …``. It is Voilà's own
application (``voila.app.Voila``, Voilà 0.5) with:

* JupyterHub's identity provider (``HubOAuth``, as a single-user server uses it): a browser is
  sent through the Hub's OAuth; a script may send a Hub token (``Authorization: token …``);
  both need the scope ``access:services!service=cartable-lessons``;
* who may open which lesson decided from the viewer's Hub groups (:mod:`.library`), asked of
  the Hub with the service's own token; a lesson one may not open answers 404, whatever the URL;
* Voilà's directory pages and contents API removed and ``/voila/files/`` serving nothing: the
  notebooks are never downloadable; kernels accept only widget (comm) messages (Voilà's default
  ``allowed_message_types``), so no page can run code of its own in them;
* pre-started kernels (``VoilaConfiguration.preheat_kernel``, a pool per lesson from
  ``--preheat``/``--pool-size``), with Voilà's per-viewer kernels as overflow, started at most
  ``--max-starts`` at a time so that a rush queues instead of thrashing;
* the template chosen by the lesson's language (``cartable`` or ``cartable-rtl``);
* a Content-Security-Policy on every page (:data:`CSP`): scripts, styles, fonts and
  connections from the service itself only (Voilà's own inline scripts allowed, as in the
  dashboards), no plugin, no ``<base>``, framed only by the same origin;
* the lesson list (``/``), the low-bandwidth pages (``/lite/<lesson>``), and the publishing API
  (``/api/published``) teachers use from their server (``cartable lessons publish``).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import nbformat
import tornado.web
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from voila.app import Voila
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from cartable.core import service
from cartable.core.hubapi import HubAPI
from cartable.core.i18n import _, gettext_for, normalize
from cartable.core.kernel_account import kernel_account
from cartable.extensions.lessons import SERVICE_NAME, SHARE, lite
from cartable.extensions.lessons.library import Library, Refused, Viewer, direction, valid_name

log = logging.getLogger("cartable.lessons")
VENV_VOILA_DATA = Path(sys.prefix) / "share" / "jupyter" / "voila"
#: Modelled on the dashboards' (:data:`cartable.grading.dashboards.service.CSP`): Voilà needs its
#: inline scripts and eval; nothing is fetched from or sent to another origin (the kernel's
#: websocket is the service's own: CSP Level 3 lets 'self' match ws:/wss: of the same host).
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def messages(msgid: str, **params) -> dict:
    return {lang: gettext_for(lang)(msgid).format(**params) for lang in ("fr", "ar", "en")}


class HubGroups:
    """Users' Hub groups and every group's properties, asked of the Hub with the service's token
    (scopes ``read:users:groups``, ``read:groups``), cached a few seconds; every page of groups
    (:class:`cartable.core.hubapi.HubAPI`)."""

    def __init__(self, api_url: str, token: str, ttl: float = 10.0):
        self.hub = HubAPI(api_url, token)
        self.ttl = ttl
        self._users: dict[str, tuple[float, dict]] = {}
        self._groups: tuple[float, dict] | None = None
        self._lock = asyncio.Lock()

    async def groups(self) -> dict[str, dict]:
        async with self._lock:
            if self._groups and time.monotonic() - self._groups[0] < self.ttl:
                return self._groups[1]
            out = {name: g.get("properties") or {} for name, g in (await self.hub.agroups()).items()}
            self._groups = (time.monotonic(), out)
            return out

    async def viewer(self, hub_user: dict) -> Viewer:
        name = hub_user["name"]
        hit = self._users.get(name)
        if hit and time.monotonic() - hit[0] < self.ttl:
            model = hit[1]
        else:
            model = await self.hub.auser(name)
            self._users[name] = (time.monotonic(), model)
        return Viewer.from_hub({**model, "admin": bool(model.get("admin"))}, await self.groups())


class State:
    """What the handlers share."""

    def __init__(self, library: Library, hub: HubGroups | None, language: str, max_starts: int,
                 pool_size: int = 4, static_pools: dict | None = None, release_after: float = 1800):
        self.pool_size = pool_size
        self.static_pools = dict(static_pools or {})
        self.release_after = release_after
        self.last_open: dict[str, float] = {}
        self.library = library
        self.hub = hub
        self.language = normalize(language)
        self.starts = asyncio.Semaphore(max_starts)
        self.lite_dir = library.root / "lite"
        self.lite_pool = ThreadPoolExecutor(1, thread_name_prefix="lite")
        self.publish_pool = ThreadPoolExecutor(1, thread_name_prefix="publish")
        self.building: set[str] = set()

    def warm_up(self, km, path: str) -> None:
        """Give ``path`` a pool of pre-started kernels (kept full by Voilà while it is used)."""
        self.last_open[path] = time.monotonic()
        if self.pool_size <= 0 or not hasattr(km, "kernel_pools_config"):
            return
        pools = km.kernel_pools_config
        if pools.get(path, {}).get("pool_size", 0) < self.pool_size:
            km.kernel_pools_config = {**pools, path: {"pool_size": self.pool_size}}
            km.fill_if_needed(delay=0, notebook_name=path)
            log.info("pre-starting %d kernels for %s", self.pool_size, path)

    async def drop_pool(self, km, path: str) -> None:
        """Stop the pre-started kernels of ``path`` (they ran a version that changed or went)."""
        self.last_open.pop(path, None)
        if not hasattr(km, "kernel_pools_config"):
            return
        pools = dict(km.kernel_pools_config)
        pools.pop(path, None)
        km.kernel_pools_config = pools
        tasks = km._pools.pop(path, [])
        km.notebook_data.pop(path, None)
        for task in tasks:
            try:
                await km.shutdown_kernel((await task)["kernel_id"])
            except Exception:  # already gone, or never started
                pass

    async def release_idle(self, km) -> None:
        """Empty the pools of lessons nobody opened for ``release_after`` seconds (not the static ones)."""
        now = time.monotonic()
        for path, when in list(self.last_open.items()):
            if path in self.static_pools or now - when < self.release_after:
                continue
            await self.drop_pool(km, path)
            log.info("released the pre-started kernels of %s (unused)", path)

    def lite_of(self, lesson) -> Path | None:
        data = self.library.file_of(lesson).read_bytes()
        return lite.find(data, [lite.SHARED_CACHE, self.lite_dir])

    def build_lite(self, lesson) -> None:
        """Build the low-bandwidth page in the background (once at a time per lesson)."""
        if lesson.path in self.building:
            return
        self.building.add(lesson.path)

        # library lessons are the same on every site of this installation: built once into the
        # shared cache when it is writable (root), so that another site or test hub finds them
        out = self.lite_dir
        if lesson.source == "library":
            try:
                lite.SHARED_CACHE.mkdir(parents=True, exist_ok=True)
                if os.access(lite.SHARED_CACHE, os.W_OK):
                    out = lite.SHARED_CACHE
            except OSError:
                pass

        def run():
            try:
                b = lite.build(self.library.file_of(lesson), out, lang=lesson.lang,
                               title=lesson.title(lesson.lang), read_dirs=[lite.SHARED_CACHE])
                log.info("low-bandwidth %s: %d bytes in %.1f s%s", lesson.path, b.size, b.seconds,
                         " (cached)" if b.cached else "")
            except Exception:  # logged; the page says it is not ready
                log.exception("low-bandwidth build of %s failed", lesson.path)
            finally:
                self.building.discard(lesson.path)

        self.lite_pool.submit(run)


class ViewerMixin:
    @property
    def state(self) -> State:
        return self.settings["cartable_lessons"]

    async def viewer(self) -> Viewer:
        user = self.current_user
        hub_user = getattr(user, "hub_user", None) or {"name": user.username}
        return await self.state.hub.viewer(hub_user)

    async def lesson_or_404(self, path: str):
        lesson = self.state.library.get(path)
        v = await self.viewer()
        if lesson is None or not lesson.visible_to(v):
            log.warning("refused %s to %s", path[:200], v.name)
            raise tornado.web.HTTPError(404)
        return lesson, v

    def tr(self, msgid: str) -> str:
        return gettext_for(self.state.language)(msgid)

    def write_error(self, status_code, **kwargs):
        """A plain page (or JSON for the API) in the site's language; nothing about the cause."""
        if isinstance(self, APIHandler):
            return super().write_error(status_code, **kwargs)
        lang = self.state.language
        text = html.escape(self.tr(_("Not found.")) if status_code == 404 else f"{status_code}")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(f'<!DOCTYPE html><html lang="{lang}" dir="{direction(lang)}"><meta charset="utf-8">'
                    f'<title>{status_code}</title><p>{text}</p></html>')


class LessonHandler(ViewerMixin, TornadoVoilaHandler):
    """Voilà's page of one lesson, for those who may open it.

    A viewer is served from the lesson's pool of pre-started kernels (each already ran the
    lesson: the page is ready) when it has one; otherwise a kernel is started for them, at most
    ``--max-starts`` at a time. Opening a lesson gives it a pool of ``--pool-size`` kernels that
    Voilà keeps full while the lesson is being opened: the teacher opening the lesson warms it
    for the class. A pool left unused for ``--release-after`` seconds is emptied."""

    @tornado.web.authenticated
    async def get(self, path=None):
        await self.lesson_or_404(path)
        km = self.kernel_manager
        self._warm = self.ready_pool_item(km, path)
        self.state.warm_up(km, path)
        self.set_header("X-Cartable-Kernel", "pre-started" if self._warm else "started")
        async with (nullcontext() if self._warm else self.state.starts):
            gen = self.get_generator(path=path)
            async for part in gen:
                self.write(part)
                self.flush()

    @staticmethod
    def ready_pool_item(km, path: str) -> bool:
        """Whether the pool holds a kernel that finished running the lesson; puts it first.

        Voilà would hand out the pool's first kernel even while it is still running the lesson,
        and such a page can then wait forever (seen with a few kernels starting together on two
        cores): a viewer gets a pre-started kernel only once its page is fully rendered,
        otherwise a kernel of their own."""
        pool = getattr(km, "_pools", {}).get(path) or []
        for i, task in enumerate(pool):
            if task.done() and not task.cancelled() and task.exception() is None \
                    and task.result()["task"].done() and not task.result()["task"].cancelled() \
                    and task.result()["task"].exception() is None:
                if i:
                    pool.insert(0, pool.pop(i))
                return bool(km.notebook_data.get(path))
        return False

    def should_use_rendered_notebook(self, *args, **kwargs) -> bool:
        return getattr(self, "_warm", False)


class IndexHandler(ViewerMixin, JupyterHandler):
    """The lessons the viewer may open, each with its low-bandwidth form."""

    @tornado.web.authenticated
    async def get(self):
        v = await self.viewer()
        lang = self.state.language
        t = {key: html.escape(self.tr(msgid)) for key, msgid in {
            "kb": _("KB"), "classes": _("classes"), "lite": _("low-bandwidth version"),
            "library": _("Course library"), "published": _("Lessons from your teachers"),
            "none": _("No lesson for you yet."), "title": _("Lessons"), "home": _("Home"),
            "intro": _("Each lesson opens as an interactive page; its low-bandwidth version is a light page "
                       "that keeps the widgets as they were left, for a slow connection."),
        }.items()}
        base = self.base_url
        rows = {"library": [], "published": []}
        for lesson in self.state.library.visible(v):
            lite_file = self.state.lite_of(lesson)
            size = f" ({max(1, round(lite_file.stat().st_size / 1024))} {t['kb']})" if lite_file else ""
            d = direction(lesson.lang)
            extra = ""
            if lesson.source == "published":
                classes = ", ".join(c.split(":", 1)[1] for c in lesson.classes)
                extra = (f' <small class="meta">· {t["classes"]} <span dir="ltr">{html.escape(classes)}'
                         f'</span> · v{lesson.version}</small>')
            title = lesson.title(lang if lesson.source == "library" else lesson.lang)
            rows[lesson.source].append(
                f'<li data-lesson="{html.escape(lesson.path)}" data-lang="{lesson.lang}">'
                f'<a class="open" href="{base}voila/render/{html.escape(lesson.path)}">'
                f'<span dir="{d}" lang="{lesson.lang}">{html.escape(title)}</span></a>'
                f' <span class="lang">{html.escape(lesson.lang.upper())}</span>{extra}'
                f' — <a class="lite" href="{base}lite/{html.escape(lesson.path)}">{t["lite"]}{size}</a></li>')
        sections = [f'<h2>{t[key]}</h2><ul id="cartable-lessons-{key}">{"".join(rows[key])}</ul>'
                    for key in ("library", "published") if rows[key]]
        if not sections:
            sections.append(f'<p id="cartable-no-lessons">{t["none"]}</p>')
        hub = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        page = f"""<!DOCTYPE html>
<html lang="{lang}" dir="{direction(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title>
<style>body{{font:16px/1.5 system-ui,"Noto Sans","Noto Sans Arabic",sans-serif;max-width:55rem;margin:0 auto;padding:1rem}}
li{{margin:.4rem 0}}.lang{{font-size:.75rem;border:1px solid #999;border-radius:3px;padding:0 .2rem}}
.meta{{color:#555}}a.lite{{font-size:.9rem}}</style></head>
<body dir="{direction(lang)}" lang="{lang}"><p><a href="{hub}hub/home">{t["home"]}</a></p>
<h1>{t["title"]}</h1>
<p>{t["intro"]}</p>
{"".join(sections)}
</body></html>"""
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(page)


class LiteHandler(ViewerMixin, JupyterHandler):
    """The low-bandwidth page of a lesson: static HTML, no script may run (CSP)."""

    @tornado.web.authenticated
    async def get(self, path):
        lesson, _v = await self.lesson_or_404(path)
        found = self.state.lite_of(lesson)
        if found is None:
            self.state.build_lite(lesson)
            self.set_status(503)
            self.set_header("Retry-After", "30")
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            lang = self.state.language
            text = html.escape(self.tr(_("The low-bandwidth version of this lesson is being prepared: "
                                         "try again in a minute.")))
            self.finish(f'<!DOCTYPE html><html lang="{lang}" dir="{direction(lang)}"><meta charset="utf-8">'
                        f'<p>{text}</p></html>')
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", lite.CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=300")
        self.finish(found.read_bytes())


class ApiBase(ViewerMixin, APIHandler):
    def refuse(self, e: Refused):
        self.set_status(e.status)
        msgs = messages(e.msgid, **e.params)
        self.finish(json.dumps({"error": e.status, "message": "\n".join(msgs.values()), "messages": msgs},
                               ensure_ascii=False))

    def urls(self, lesson) -> dict:
        return {"url": url_path_join(self.base_url, "voila/render", lesson.path),
                "lite_url": url_path_join(self.base_url, "lite", lesson.path)}


class LessonsApiHandler(ApiBase):
    @tornado.web.authenticated
    async def get(self):
        v = await self.viewer()
        self.finish(json.dumps([{**lesson.as_dict(), **self.urls(lesson), "lite_ready": self.state.lite_of(lesson) is not None}
                                for lesson in self.state.library.visible(v)], ensure_ascii=False))


class PublishedApiHandler(ApiBase):
    """``POST``: a teacher publishes (or republishes) a lesson to some of their classes;
    ``GET``: the caller's own publications with their versions."""

    @tornado.web.authenticated
    async def get(self):
        v = await self.viewer()
        mine = [m for m in (self.state.library.meta(p.name) for p in sorted(self.state.library.store.glob("*")))
                if m and m.get("author") == v.name]
        self.finish(json.dumps(mine, ensure_ascii=False))

    @tornado.web.authenticated
    async def post(self):
        v = await self.viewer()
        try:
            try:
                body = json.loads(self.request.body or b"{}")
                assert isinstance(body, dict)
            except (ValueError, AssertionError):
                raise Refused(400, _("This is not a valid notebook (.ipynb).")) from None
            lib = self.state.library
            classes, subject = lib.resolve_classes(v, list(body.get("classes") or []), body.get("subject"))
            raw = body.get("notebook", "")
            raw = raw.encode("utf-8") if isinstance(raw, str) else json.dumps(raw).encode()
            nb, lang, title = lib.prepare(raw, body.get("lang"))
            name = str(body.get("name", ""))
            if not valid_name(name):
                raise Refused(400, _("A lesson name is lowercase letters, digits and dashes, such as {example}."),
                              example="ondes-mecaniques")
            # executed once, as the lessons' kernel account, before anyone sees it: a lesson that
            # fails is refused with the failing cell, and its low-bandwidth page is ready at once
            incoming = lib.site / ".incoming"
            incoming.mkdir(parents=True, exist_ok=True)
            candidate = incoming / f"{v.name}--{name}.ipynb"
            candidate.write_bytes(nbformat.writes(nb).encode())
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self.state.publish_pool, lambda: lite.build(candidate, self.state.lite_dir, lang=lang,
                                                                title=title or name, timeout=60))
            except lite.ExecutionFailed as e:
                raise Refused(422, _("The lesson failed while running (cell {cell}: {error}); fix it and publish again."),
                              cell=e.cell, error=f"{e.ename}: {e.evalue}"[:300]) from None
            finally:
                candidate.unlink(missing_ok=True)
            meta = lib.publish(v, name, nb, lang, title, classes, subject)
            await self.state.drop_pool(self.kernel_manager, f"published/{meta['id']}.ipynb")
        except Refused as e:
            log.warning("publish refused to %s: %s", v.name, e)
            return self.refuse(e)
        lesson = lib.get(f"published/{meta['id']}.ipynb")
        log.info("%s published %s v%d to %s", v.name, meta["id"], meta["versions"][-1]["version"], ",".join(classes))
        self.set_status(201)
        self.finish(json.dumps({**meta, **self.urls(lesson)}, ensure_ascii=False))


class PublishedItemHandler(ApiBase):
    """``DELETE``: the author withdraws a lesson (its versions are kept)."""

    @tornado.web.authenticated
    async def delete(self, pub_id):
        v = await self.viewer()
        try:
            meta = self.state.library.withdraw(v, pub_id)
            await self.state.drop_pool(self.kernel_manager, f"published/{pub_id}.ipynb")
        except Refused as e:
            log.warning("withdraw of %s refused to %s: %s", pub_id[:80], v.name, e)
            return self.refuse(e)
        log.info("%s withdrew %s", v.name, pub_id)
        self.finish(json.dumps(meta, ensure_ascii=False))


class LibraryApiHandler(ApiBase):
    """``GET``: the course library (lessons, exercise sets, mock exams) a teacher may copy from.

    The library's sources hold solutions and hidden tests and are readable by the service's account
    only (cartable.hub.privacy): teachers and administrators get them here, never pupils,
    directors or inspectors (``cartable library list`` / ``copy``)."""

    def may_copy(self, v: Viewer) -> bool:
        return v.admin or v.is_teacher

    async def allowed(self) -> Viewer | None:
        v = await self.viewer()
        if self.may_copy(v):
            return v
        log.warning("library refused to %s", v.name)
        self.refuse(Refused(403, _("Only teachers may copy from the course library.")))
        return None

    @tornado.web.authenticated
    async def get(self):
        if await self.allowed() is None:
            return
        from cartable.core.catalogue import load

        cat = load(self.state.library.catalogue_path)
        self.finish(json.dumps([{"id": e.id, "kind": e.kind, "subject": e.subject, "level": e.level,
                                 "titles": e.titles, "languages": list(e.languages)} for e in cat],
                               ensure_ascii=False))


class LibraryItemHandler(LibraryApiHandler):
    """``GET api/library/<id>``: the item's source files as a tar.gz (a teacher's own copy)."""

    @tornado.web.authenticated
    async def get(self, entry_id):
        v = await self.allowed()
        if v is None:
            return
        import io
        import tarfile

        from cartable.core.catalogue import load

        cat = load(self.state.library.catalogue_path)
        try:
            entry = cat.get(entry_id)
        except KeyError:
            raise tornado.web.HTTPError(404) from None
        if entry.kind == "lesson":
            files = {Path(rel).name: cat.root / rel for rel in dict.fromkeys([entry.path, *entry.translations.values()])}
        else:
            folder = cat.assignment_dir(entry)
            files = {str(f.relative_to(folder)): f for f in sorted(folder.rglob("*"))
                     if f.is_file() and not f.is_symlink() and ".ipynb_checkpoints" not in f.parts}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, path in files.items():
                info = tar.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with open(path, "rb") as f:
                    tar.addfile(info, f)
        log.info("%s copied %s from the library", v.name, entry.id)
        self.set_header("Content-Type", "application/gzip")
        self.finish(buf.getvalue())


class LessonsVoila(Voila):
    """Voilà's application with Cartable's handlers in place of its directory pages."""

    name = "cartable-lessons"
    state: State | None = None

    @property
    def data_dir(self):
        return str(VENV_VOILA_DATA)  # themes and schemas of the installed Voilà, not of our templates

    def init_settings(self):
        settings = super().init_settings()
        settings["cartable_lessons"] = self.state
        return settings

    def init_handlers(self):
        out = []
        for spec in super().init_handlers():
            pattern, handler = spec[0], spec[1]
            if handler in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                continue  # no directory listing, no contents API
            if handler is TornadoVoilaHandler:
                spec = (pattern, LessonHandler, *spec[2:])
            elif not pattern.startswith(self.base_url):
                spec = (url_path_join(self.base_url, pattern), *spec[1:])  # the identity provider's
            out.append(spec)
        p = self.base_url.rstrip("/")
        return [
            (rf"{p}/?", IndexHandler),
            (rf"{p}/lite/(.+)", LiteHandler),
            (rf"{p}/api/lessons", LessonsApiHandler),
            (rf"{p}/api/published", PublishedApiHandler),
            (rf"{p}/api/published/([^/]+)", PublishedItemHandler),
            (rf"{p}/api/library", LibraryApiHandler),
            (rf"{p}/api/library/([A-Za-z0-9_-]+)", LibraryItemHandler),
            *out,
        ]


def voila_config(site: Path, *, pools: dict[str, int], base_url: str = "/", cull_idle: int = 600):
    """The traitlets configuration of the lessons' Voilà (shared with the benchmark)."""
    from traitlets.config import Config

    c = Config()
    c.Voila.root_dir = str(site)
    c.Voila.base_url = base_url
    c.Voila.open_browser = False
    c.Voila.tornado_settings = {"headers": {"Content-Security-Policy": CSP}}
    c.VoilaConfiguration.template = "cartable"
    c.VoilaConfiguration.allow_template_override = "NOTEBOOK"
    c.VoilaConfiguration.allow_theme_override = "NO"
    c.VoilaConfiguration.theme = "light"
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.file_allowlist = []  # /voila/files/ serves nothing: notebooks are not downloadable
    c.VoilaConfiguration.file_denylist = [r".*"]
    c.VoilaConfiguration.preheat_kernel = True  # Voilà's pooling kernel manager; pools per lesson below
    c.VoilaConfiguration.default_pool_size = 0
    c.VoilaConfiguration.http_keep_alive_timeout = 10
    c.VoilaExecutor.timeout = 120  # seconds per cell: a runaway lesson cell ends
    c.VoilaKernelManager.kernel_pools_config = {"default": {"pool_size": 0},
                                                **{path: {"pool_size": n} for path, n in pools.items()}}
    c.VoilaKernelManager.fill_delay = 0.5
    c.MappingKernelManager.kernel_manager_class = "cartable.extensions.lessons.ipc.LessonKernelManager"
    c.MappingKernelManager.cull_idle_timeout = cull_idle
    c.MappingKernelManager.cull_interval = 60
    c.MappingKernelManager.cull_connected = False
    return c


def pools_for(library: Library, preheat: str, pool_size: int) -> dict[str, int]:
    """``--preheat``: ``all`` (every library lesson), ``none``, or paths/ids, comma-separated."""
    if pool_size <= 0 or preheat in ("", "none"):
        return {}
    wanted = {w.strip() for w in preheat.split(",") if w.strip()}
    return {lesson.path: pool_size for lesson in library.lessons()
            if lesson.source == "library" and ("all" in wanted or lesson.path in wanted or lesson.id in wanted)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="the lessons' state directory (<state_dir>/lessons)")
    parser.add_argument("--catalogue", default=None)
    parser.add_argument("--language", default="fr")
    parser.add_argument("--preheat", default="none",
                        help="lessons whose pools are filled at start: all, none, or ids/paths (comma-separated)")
    parser.add_argument("--pool-size", type=int, default=4, help="pre-started kernels per lesson in use")
    parser.add_argument("--release-after", type=float, default=1800,
                        help="seconds without an opening after which a lesson's pool is emptied")
    parser.add_argument("--max-starts", type=int, default=max(2, 2 * (os.cpu_count() or 1)))
    parser.add_argument("--kernel-user", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    service.setup_logging()

    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(SHARE), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    from cartable.extensions.lessons.ipc import patch_channel_polling

    patch_channel_polling()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MPLCONFIGDIR", str(root / "mpl"))
    # kernels drop to the lessons' account (cartable.core.kernel_account); their sockets
    # live in that account's runtime directory
    os.environ["CARTABLE_LESSON_IPC_DIR"] = str(kernel_account(root / "kernels", args.kernel_user))
    library = Library(root, Path(args.catalogue) if args.catalogue else None)
    if os.geteuid() == 0 and args.kernel_user:
        import pwd

        library.site_gid = pwd.getpwnam(args.kernel_user).pw_gid
    library.sync_library()
    library.load_published()
    library.share_site(library.site_gid)

    env = service.from_env(SERVICE_NAME, 8005, args.port)
    prefix = env.prefix
    pools = pools_for(library, args.preheat, args.pool_size)
    config = voila_config(library.site, pools=pools, base_url=prefix)
    config.Voila.port = env.port
    config.Voila.ip = env.ip
    config.Voila.port_retries = 0
    from jupyterhub.singleuser.extension import JupyterHubAuthorizer, JupyterHubIdentityProvider

    config.Voila.identity_provider_class = JupyterHubIdentityProvider
    config.Voila.authorizer_class = JupyterHubAuthorizer
    config.HubOAuth.cookie_options = {"samesite": "lax"}

    app = LessonsVoila(config=config)
    state = State(library, HubGroups(env.api_url, env.api_token),
                  args.language, args.max_starts, pool_size=args.pool_size, static_pools=pools,
                  release_after=args.release_after)
    app.state = state
    app.initialize([])
    log.info("%s: %d lessons, pre-started kernels %s, templates in %s", SERVICE_NAME, len(library.lessons()),
             pools or "none", SHARE)
    for lesson in library.lessons():
        if state.lite_of(lesson) is None:
            state.build_lite(lesson)
    from tornado.ioloop import PeriodicCallback

    PeriodicCallback(lambda: state.release_idle(app.kernel_manager), 60_000).start()

    def stop():
        # builds not started yet are dropped (the next start finds them missing and makes them):
        # the hub waits for its services, and a queue of lessons would hold its stop
        state.lite_pool.shutdown(wait=False, cancel_futures=True)
        if getattr(app, "ioloop", None):
            app.ioloop.add_callback_from_signal(app.ioloop.stop)
        else:
            sys.exit(0)

    service.on_stop(stop)  # SIGTERM and SIGINT (how the hub stops its services first)
    app.start()


if __name__ == "__main__":
    main()
