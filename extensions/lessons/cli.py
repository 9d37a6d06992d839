"""``cartable lessons …`` (also ``cartable lesson …``).

- ``build``: build the low-bandwidth form of every library lesson ahead of time into the shared
  cache the service reads (``<prefix>/share/cartable/lessons-lite``); re-runnable, cached;
- ``publish PATH --class 2BSM1 [--class …]``: from a teacher's server, publish a lesson notebook
  to some of one's classes (again: a new version, the previous one kept);
- ``withdraw NAME`` and ``list``: withdraw one of one's lessons; list one's publications.

``publish``, ``withdraw`` and ``list`` talk to the lessons service with the server's Hub token
(``$JUPYTERHUB_API_TOKEN``) at ``$CARTABLE_LESSONS_URL``: the service takes the teacher's
identity from the token and checks that they teach those classes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from cartable.core.i18n import _, gettext_for, normalize


def _lang() -> str:
    return normalize(os.environ.get("CARTABLE_LANGUAGE") or os.environ.get("LANG", "fr").split(".")[0])


def tr(msgid: str, **kw) -> str:
    return gettext_for(_lang())(msgid).format(**kw)


@click.group("lessons")
def lessons_cmd():
    """Lessons: low-bandwidth forms, teachers' publications."""


@lessons_cmd.command("build")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache directory (default: <prefix>/share/cartable/lessons-lite).")
@click.option("--workers", type=int, default=2)
@click.option("--catalogue", type=click.Path(dir_okay=False, path_type=Path), default=None)
def build_cmd(out, workers, catalogue):
    """Build the low-bandwidth form of every library lesson (cached)."""
    from cartable.extensions.lessons import SHARE, lite
    from cartable.extensions.lessons.library import Library

    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(SHARE), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = out or lite.SHARED_CACHE
    with tempfile.TemporaryDirectory(prefix="cartable-lessons-") as tmp:
        lib = Library(Path(tmp), catalogue)
        lessons = lib.sync_library()

        def one(lesson):
            try:
                return lesson, lite.build(lib.file_of(lesson), out, lang=lesson.lang, title=lesson.title(lesson.lang)), None
            except Exception as e:  # reported below
                return lesson, None, e

        failed = 0
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for lesson, built, error in pool.map(one, lessons):
                if error:
                    failed += 1
                    failed_word = tr(_("failed"))
                    click.echo(f"{lesson.path}: {failed_word}: {error}", err=True)
                else:
                    click.echo(f"{lesson.path}: {built.size / 1024:.0f} KB"
                               f"{' (cache)' if built.cached else f' ({built.seconds:.1f} s)'} {built.path.name}")
    sys.exit(1 if failed else 0)


def _service(url: str | None, token: str | None):
    import requests

    url = (url or os.environ.get("CARTABLE_LESSONS_URL") or "").rstrip("/") + "/"
    token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if url == "/" or not token:
        click.echo(tr(_("Run this in your own server on the hub (it needs $CARTABLE_LESSONS_URL and "
                        "$JUPYTERHUB_API_TOKEN), or give --url and --token.")), err=True)
        sys.exit(2)

    headers = {"Authorization": f"token {token}"}
    if os.environ.get("CARTABLE_LESSONS_HOST"):  # servers on host names of their own: the proxy routes by host
        headers["Host"] = os.environ["CARTABLE_LESSONS_HOST"]

    def call(method, path, **kw):
        return requests.request(method, url + path, headers=headers, timeout=300, **kw)

    return call


def _fail(r) -> None:
    try:
        body = r.json()
        msg = body.get("messages", {}).get(_lang()) or body.get("message") or r.text
    except ValueError:
        msg = r.text[:300]
    click.echo(f"{r.status_code}: {msg}", err=True)
    sys.exit(1)


@lessons_cmd.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--class", "classes", multiple=True, required=True, help="A class you teach (e.g. 2BSM1); repeatable.")
@click.option("--name", default=None, help="The lesson's name (default: the file's name).")
@click.option("--subject", default=None, help="When you teach several subjects in these classes.")
@click.option("--lang", type=click.Choice(["fr", "ar", "en"]), default=None,
              help="The lesson's language (default: from the notebook).")
@click.option("--url", default=None)
@click.option("--token", default=None)
def publish_cmd(path, classes, name, subject, lang, url, token):
    """Publish the lesson notebook PATH to some of your classes."""
    import re
    import unicodedata

    call = _service(url, token)
    if not name:
        stem = path.name.removesuffix(".ipynb")
        name = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", stem).encode("ascii", "ignore")
                      .decode().lower()).strip("-")
    body = {"name": name, "classes": list(classes), "subject": subject, "lang": lang,
            "notebook": path.read_text(encoding="utf-8")}
    r = call("POST", "api/published", json=body)
    if r.status_code != 201:
        _fail(r)
    meta = r.json()
    click.echo(tr(_("Published {name} (version {version}) to {classes}."), name=meta["id"],
                  version=meta["versions"][-1]["version"], classes=", ".join(meta["classes"])))
    click.echo(json.dumps({k: meta[k] for k in ("id", "url", "lite_url")}))


@lessons_cmd.command("withdraw")
@click.argument("name")
@click.option("--url", default=None)
@click.option("--token", default=None)
def withdraw_cmd(name, url, token):
    """Withdraw one of your published lessons (its versions are kept)."""
    call = _service(url, token)
    if "--" not in name:
        mine = call("GET", "api/published")
        if mine.status_code != 200:
            _fail(mine)
        hits = [m["id"] for m in mine.json() if m.get("name") == name]
        name = hits[0] if hits else name
    r = call("DELETE", f"api/published/{name}")
    if r.status_code != 200:
        _fail(r)
    click.echo(tr(_("Withdrawn: {name}."), name=name))


@lessons_cmd.command("list")
@click.option("--url", default=None)
@click.option("--token", default=None)
def list_cmd(url, token):
    """Your published lessons and their versions."""
    call = _service(url, token)
    r = call("GET", "api/published")
    if r.status_code != 200:
        _fail(r)
    for m in r.json():
        state = tr(_("withdrawn")) if m.get("withdrawn_at") else tr(_("published"))
        click.echo(f"{m['id']}\t{state}\tv{m['versions'][-1]['version']}\t{', '.join(m['classes'])}")





@click.group("library")
def library_cmd():
    """The course library: lessons, exercise sets and mock exams a teacher copies from."""


@library_cmd.command("list")
@click.option("--url", default=None)
@click.option("--token", default=None)
def library_list_cmd(url, token):
    """What the library holds (id, kind, subject, title)."""
    call = _service(url, token)
    r = call("GET", "api/library")
    if r.status_code != 200:
        _fail(r)
    lang = _lang()
    for e in r.json():
        click.echo(f"{e['id']}\t{e['kind']}\t{e['subject']}\t{e['titles'].get(lang) or e['titles'].get('fr', '')}")


@library_cmd.command("copy")
@click.argument("entry_id")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to copy into (default: ./ENTRY_ID); it must not exist yet.")
@click.option("--url", default=None)
@click.option("--token", default=None)
def library_copy_cmd(entry_id, dest, url, token):
    """Copy the library's ENTRY_ID (with its solutions and hidden tests) into a folder of yours."""
    from cartable.core.archive import safe_extract

    dest = dest or Path.cwd() / entry_id
    if dest.exists():
        click.echo(tr(_("{path} already exists: nothing was copied. Choose another folder with --to."),
                      path=dest), err=True)
        sys.exit(2)
    call = _service(url, token)
    r = call("GET", f"api/library/{entry_id}")
    if r.status_code == 404:
        click.echo(tr(_("The library has no {id}; see cartable library list."), id=entry_id), err=True)
        sys.exit(1)
    if r.status_code != 200:
        _fail(r)
    dest.mkdir(parents=True)
    written = safe_extract(r.content, dest)
    click.echo(tr(_("Copied {id} into {path} ({count} files)."), id=entry_id, path=dest, count=len(written)))
