"""nbgrader Exchange plugin that talks to Cartable's exchange service over HTTP.

Configured with :func:`configure` (``c.ExchangeFactory.<x> = "cartable.grading.exchange.nbgrader.X"``),
so ``nbgrader fetch_assignment/submit/list/release_assignment/collect/release_feedback/
fetch_feedback`` and JupyterLab's assignment list use the service instead of a shared
directory. The caller is identified by the Hub token of the server it runs in
(``$JUPYTERHUB_API_TOKEN``); the service URL is ``$CARTABLE_EXCHANGE_URL``. Nothing the
client says about who it is or what time it is counts: the service decides. Every request goes
through :class:`~cartable.grading.exchange.client.ExchangeClient`; a refusal fails the operation
with the service's text (nbgrader's ``ExchangeError``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from nbgrader.exchange import abc
from nbgrader.exchange.abc.exchange import ExchangeError
from traitlets import Bool, Float, Unicode, default

from cartable.core.archive import safe_extract
from cartable.core.sanitize import HTML_EXPORTER_CONFIG
from cartable.grading.exchange.client import ExchangeClient, ExchangeRefusal
from cartable.grading.exchange.protocol import SUBMISSION_INFO, directory_manifest, manifest_digest, to_nbgrader_ts

PLUGINS = {
    "exchange": "CartableExchange",
    "fetch_assignment": "ExchangeFetchAssignment",
    "fetch_feedback": "ExchangeFetchFeedback",
    "release_assignment": "ExchangeReleaseAssignment",
    "release_feedback": "ExchangeReleaseFeedback",
    "list": "ExchangeList",
    "submit": "ExchangeSubmit",
    "collect": "ExchangeCollect",
}


def configure(c) -> None:
    """Point nbgrader's ExchangeFactory at this module."""
    from cartable.grading import feedback

    for trait, cls in PLUGINS.items():
        setattr(c.ExchangeFactory, trait, f"cartable.grading.exchange.nbgrader.{cls}")
    feedback.configure(c)


NBGRADER_CONFIG = '''# Written by Cartable (the exchange's service spec, cartable.grading.service_specs).
# nbgrader commands and the assignment list use the exchange service, not a shared folder.
import os
if os.environ.get("CARTABLE_EXCHANGE_URL"):
    from cartable.grading.exchange.nbgrader import configure
    configure(get_config())  # noqa: F821
# The formgrader and generate_feedback render pupils' notebooks sanitized (cartable.core.sanitize).
from cartable.core.sanitize import configure_nbconvert
configure_nbconvert(get_config())  # noqa: F821
'''

# JupyterHub's single-user extension sends "frame-ancestors 'none'" unless the server's
# tornado settings already hold a Content-Security-Policy; the formgrader is shown in an
# iframe of the same origin, so the teacher's server allows its own origin (only).
# nbconvert in a staff server (the formgrader, whose exporter takes this config through its
# parent, and /nbconvert/html) sanitizes pupils' HTML, SVG and Markdown (cartable.core.sanitize).
STAFF_SERVER_CONFIG = {
    "ServerApp": {"tornado_settings": {"headers": {
        "Content-Security-Policy": "frame-ancestors 'self'; report-uri /api/security/csp-report"}}},
    "HTMLExporter": HTML_EXPORTER_CONFIG,
}


class CartableExchange(abc.Exchange):
    """What every operation shares: the service's URL, the Hub token, error handling."""

    service_url = Unicode(config=True, help="Base URL of the exchange service ($CARTABLE_EXCHANGE_URL).")
    api_token = Unicode(config=True, help="Hub token identifying the caller ($JUPYTERHUB_API_TOKEN).")
    path_includes_course = Bool(True, config=True,
                                help="Fetch into <assignment_dir>/<course>/<assignment> (pupils follow several courses).")
    request_timeout = Float(120.0, config=True)
    cache = Unicode("", config=True, help="Unused: the service keeps submissions (kept for nbgrader compatibility).")

    @default("service_url")
    def _url_default(self):
        return os.environ.get("CARTABLE_EXCHANGE_URL", "")

    @default("api_token")
    def _token_default(self):
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("timezone")
    def _tz_default(self):
        return os.environ.get("CARTABLE_TIMEZONE", "UTC")

    @property
    def client(self) -> ExchangeClient:
        return ExchangeClient(self.service_url, self.api_token, self.request_timeout)

    @contextlib.contextmanager
    def refusals(self):
        """The exchange client; a refusal fails the operation with the service's text."""
        try:
            yield self.client
        except ExchangeRefusal as e:
            self.fail(str(e))

    def local_dir(self, course: str, assignment: str) -> Path:
        root = Path(self.assignment_dir)
        return (root / course / assignment) if self.path_includes_course else (root / assignment)

    def need_course(self):
        if not self.coursedir.course_id:
            self.fail("No course id specified. Re-run with --course flag.")

    def init_src(self):
        pass

    def init_dest(self):
        pass

    def copy_files(self):
        pass


class ExchangeList(CartableExchange, abc.ExchangeList):

    def list_files(self):
        with self.refusals() as api:
            return self._list_files(api)

    def _list_files(self, api: ExchangeClient):
        course = self.coursedir.course_id or None
        assignment = self.coursedir.assignment_id or None
        if not (self.inbound or self.cached):
            out = []
            for a in api.assignments(course_id=course, assignment_id=assignment):
                if assignment and a["assignment_id"] != assignment:
                    continue
                local = self.local_dir(a["course_id"], a["assignment_id"])
                info = dict(a)
                info.pop("files", None)
                if local.is_dir():
                    info["status"] = "fetched"
                    info["path"] = str(local.resolve())
                    info["notebooks"] = [{"notebook_id": p.stem, "path": str(p.resolve())}
                                         for p in sorted(local.glob("*.ipynb"))]
                else:
                    info["status"] = "released"
                    info["path"] = api.assignment_url(a["course_id"], a["assignment_id"])
                    info["notebooks"] = [{"notebook_id": n, "path": f"{n}.ipynb"} for n in a["notebooks"]]
                self.log.info("%s %s%s", a["course_id"], a["assignment_id"],
                              f" (due {a['due_local']})" if a.get("due_local") else "")
                out.append(info)
            return out
        subs = api.submissions(course_id=course, assignment_id=assignment)
        feedback = api.feedback(course_id=course, assignment_id=assignment)
        fb_by_sub: dict[str, dict[str, dict]] = {}
        for f in feedback:
            fb_by_sub.setdefault(f["submission_id"], {})[f["notebook_id"]] = f
        groups: dict[tuple, list] = {}
        for sub in subs:
            ts = to_nbgrader_ts(sub["received_at"])
            local = self.local_dir(sub["course_id"], sub["assignment_id"])
            fb_dir = local / "feedback" / ts
            notebooks = []
            for nb in sub["notebooks"]:
                fb = fb_by_sub.get(sub["submission_id"], {}).get(nb)
                local_fb = fb_dir / f"{nb}.html"
                has_local = local_fb.is_file()
                notebooks.append({"notebook_id": nb, "path": nb + ".ipynb", "has_local_feedback": has_local,
                                  "has_exchange_feedback": fb is not None,
                                  "local_feedback_path": str(local_fb) if has_local else None,
                                  "feedback_updated": bool(has_local and fb and _sha(local_fb) != fb["sha256"])})
            info = {"course_id": sub["course_id"], "student_id": sub["student"], "assignment_id": sub["assignment_id"],
                    "timestamp": ts, "status": "submitted", "path": api.submission_url(sub["submission_id"]),
                    "notebooks": notebooks, "submission_id": sub["submission_id"], "sha256": sub["sha256"],
                    "late": sub["late"], "received_at_local": sub["received_at_local"],
                    "has_local_feedback": bool(notebooks) and all(n["has_local_feedback"] for n in notebooks),
                    "has_exchange_feedback": bool(notebooks) and all(n["has_exchange_feedback"] for n in notebooks),
                    "feedback_updated": any(n["feedback_updated"] for n in notebooks)}
            info["local_feedback_path"] = str(fb_dir) if info["has_local_feedback"] else None
            self.log.info("%s %s %s %s sha256=%s%s", sub["course_id"], sub["student"], sub["assignment_id"], ts,
                          sub["sha256"], " (late)" if sub["late"] else "")
            groups.setdefault((sub["course_id"], sub["student"], sub["assignment_id"]), []).append(info)
        return [{"course_id": k[0], "student_id": k[1], "assignment_id": k[2], "status": "submitted",
                 "submissions": sorted(v, key=lambda x: x["timestamp"])} for k, v in sorted(groups.items())]

    def remove_files(self):
        self.fail("Released assignments are withdrawn with `cartable course unrelease`; submissions are never removed.")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ExchangeFetchAssignment(CartableExchange, abc.ExchangeFetchAssignment):

    def init_dest(self):
        self.need_course()
        self.dest_path = self.local_dir(self.coursedir.course_id, self.coursedir.assignment_id)
        if self.dest_path.is_dir() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in this directory: {self.dest_path}")

    def copy_files(self):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        with self.refusals() as api:
            data = api.fetch_assignment(c, a)
        self.dest_path.mkdir(parents=True, exist_ok=True)
        safe_extract(data, self.dest_path, only_missing=self.replace_missing_files)
        self.log.info("Fetched as: %s %s", c, a)


def pack(src: Path, ignore=()) -> tuple[bytes, list[dict]]:
    """A tar.gz of a folder, refusing links; and its manifest."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=5) as tar:
        for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
            for d in list(dirnames):
                if os.path.islink(os.path.join(dirpath, d)):
                    raise ExchangeError(f"{os.path.join(dirpath, d)} is a link; links are refused, submit real files. / "
                                        "est un lien ; les liens sont refusés.")
            dirnames[:] = sorted(d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in ignore))
            for fname in sorted(filenames):
                if any(fnmatch.fnmatch(fname, p) for p in ignore):
                    continue
                full = os.path.join(dirpath, fname)
                if os.path.islink(full) or not os.path.isfile(full):
                    raise ExchangeError(f"{full} is a link or not a regular file; it is refused. / "
                                        "est un lien ou n'est pas un fichier ordinaire : refusé.")
                tar.add(full, arcname=os.path.relpath(full, src), recursive=False)
    return buf.getvalue(), directory_manifest(src, ignore)


SUBMIT_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", SUBMISSION_INFO, "timestamp.txt",
                 "submission_secret.txt", ".cartable-receipt.json")


class ExchangeSubmit(CartableExchange, abc.ExchangeSubmit):

    receipt = None

    def init_src(self):
        self.need_course()
        self.src_path = self.local_dir(self.coursedir.course_id, self.coursedir.assignment_id)
        if not self.src_path.is_dir():
            self.fail(f"Assignment not found at: {self.src_path}")

    def copy_files(self):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        ignore = tuple(dict.fromkeys([*SUBMIT_IGNORE, *self.coursedir.ignore]))
        with self.refusals() as api:
            released = [x for x in api.assignments(course_id=c) if x["assignment_id"] == a]
        if not released:
            self.fail(f"Assignment {a} is not released in course {c}.")
        local_nbs = {p.stem for p in self.src_path.glob("*.ipynb")}
        missing = sorted(set(released[0]["notebooks"]) - local_nbs)
        if missing:
            msg = f"Missing notebooks for assignment {a}: {', '.join(missing)}"
            if self.strict:
                self.fail(msg)
            self.log.warning(msg)
        try:
            body, manifest = pack(self.src_path, ignore)
        except ExchangeError as e:
            self.fail(str(e))
        with self.refusals() as api:
            receipt = api.submit(c, a, body)
        local = manifest_digest(manifest)
        if receipt["sha256"] != local:
            self.fail(f"The receipt's SHA-256 {receipt['sha256']} does not match the files sent ({local}); submit again.")
        self.receipt = receipt
        d = Path(jupyter_data_dir()) / "cartable_receipts"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{c}+{a}+{receipt['submission_id']}.json").write_text(json.dumps(receipt, indent=1, ensure_ascii=False))
        self.log.info(receipt.get("message") or f"Submitted as: {c} {a} {receipt['received_at']}")
        self.log.info("Submitted as: %s %s %s sha256=%s", c, a, to_nbgrader_ts(receipt["received_at"]),
                      receipt["sha256"])


class ExchangeReleaseAssignment(CartableExchange, abc.ExchangeReleaseAssignment):
    due = Unicode("", config=True, help="Due date (soft deadline), ISO 8601, school time zone if no offset.")
    hard_deadline = Unicode("", config=True, help="Hard deadline: submissions refused after it.")
    penalty_per_day = Float(0.0, config=True, help="Late penalty, percent of the grade per started day.")

    def init_src(self):
        self.need_course()
        self.src_path = Path(self.coursedir.format_path(self.coursedir.release_directory, ".",
                                                        self.coursedir.assignment_id))
        if not self.src_path.is_dir():
            self.fail(f"Assignment not found at {self.src_path}: run `nbgrader generate_assignment` first.")

    def _due_from_gradebook(self) -> str:
        try:
            from nbgrader.api import Gradebook, MissingEntry

            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                try:
                    d = gb.find_assignment(self.coursedir.assignment_id).duedate
                except MissingEntry:
                    return ""
            return d.replace(tzinfo=dt.UTC).isoformat() if d else ""
        except Exception:
            return ""

    def copy_files(self):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        with self.refusals() as api:
            existing = [x for x in api.assignments(course_id=c) if x["assignment_id"] == a]
        if existing and not self.force:
            self.fail(f"Destination already exists, add --force to overwrite: {c} {a}")
        body, _manifest = pack(self.src_path, tuple(self.coursedir.ignore))
        with self.refusals() as api:
            self.released = api.release(c, a, body, due=self.due or self._due_from_gradebook(),
                                        hard_deadline=self.hard_deadline, penalty_per_day=str(self.penalty_per_day))
        self.log.info("Released as: %s %s (due %s)", c, a, self.released.get("due_local"))


class ExchangeCollect(CartableExchange, abc.ExchangeCollect):
    mode = Unicode("on_time", config=True, help="on_time: latest submission on time (else latest); latest: latest.")

    def init_src(self):
        self.need_course()

    def copy_files(self):
        with self.refusals() as api:
            self._collect(api)

    def _collect(self, api: ExchangeClient):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        pupil = self.coursedir.student_id if self.coursedir.student_id and self.coursedir.student_id != "*" else None
        subs = api.collect(c, a, mode="latest" if self.mode == "latest" else "on_time", pupil=pupil)
        if not subs:
            self.log.warning("No submissions of '%s' for course '%s' to collect", a, c)
        self.collected = []
        for sub in subs:
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, sub["student"], a))
            info_path = dest / SUBMISSION_INFO
            if dest.is_dir():
                try:
                    have = json.loads(info_path.read_text())["submission_id"]
                except (OSError, ValueError, KeyError):
                    have = None
                if have == sub["submission_id"]:
                    self.log.info("Submission already collected: %s %s", sub["student"], a)
                    continue
                if not self.update and have is not None:
                    self.log.info("Submission already exists, use --update to update: %s %s", sub["student"], a)
                    continue
                shutil.rmtree(dest)
            data = api.submission_archive(sub["submission_id"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".collect-", dir=dest.parent))
            try:
                safe_extract(data, tmp)
                got = manifest_digest(directory_manifest(tmp))
                if got != sub["sha256"]:
                    self.fail(f"Submission {sub['submission_id']} does not match its receipt hash; not collected.")
                (tmp / "timestamp.txt").write_text(to_nbgrader_ts(sub["received_at"]))
                (tmp / SUBMISSION_INFO).write_text(json.dumps(sub, indent=1, ensure_ascii=False))
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            self.collected.append(sub)
            self.log.info("Collecting submission: %s %s%s", sub["student"], a, " (late)" if sub["late"] else "")


class ExchangeReleaseFeedback(CartableExchange, abc.ExchangeReleaseFeedback):

    def init_src(self):
        self.need_course()

    def copy_files(self):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        student = self.coursedir.student_id if self.coursedir.student_id and self.coursedir.student_id != "*" else "*"
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, student, a)
        exclude = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        self.released = []
        import glob

        for fb_dir in sorted(glob.glob(pattern)):
            sid = Path(fb_dir).parent.name
            if sid in exclude:
                continue
            info = None
            for base in (self.coursedir.autograded_directory, self.coursedir.submitted_directory):
                p = Path(self.coursedir.format_path(base, sid, a)) / SUBMISSION_INFO
                if p.is_file():
                    info = json.loads(p.read_text())
                    break
            if info is None:
                self.log.warning("No collected submission for %s %s: feedback not released", sid, a)
                continue
            for html in sorted(Path(fb_dir).glob("*.html")):
                with self.refusals() as api:
                    api.put_feedback(info["submission_id"], html.stem, html.read_bytes())
                self.released.append((sid, html.stem))
                self.log.info("Releasing feedback for student '%s' on assignment '%s/%s/%s'", sid, c, a, html.stem)


class ExchangeFetchFeedback(CartableExchange, abc.ExchangeFetchFeedback):

    def init_src(self):
        self.need_course()

    def copy_files(self):
        c, a = self.coursedir.course_id, self.coursedir.assignment_id
        self.fetched = []
        with self.refusals() as api:
            for fb in api.feedback(course_id=c, assignment_id=a or None):
                ts = to_nbgrader_ts(fb["submitted_at"])
                dest = self.local_dir(c, fb["assignment_id"]) / "feedback" / ts / f"{fb['notebook_id']}.html"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(api.feedback_html(fb["feedback_id"]))
                self.fetched.append(str(dest))
                self.log.info("Fetched feedback: %s", dest)

