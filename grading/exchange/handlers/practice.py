"""Grading by the service: practice mode (graded on submit) and the sandbox a teacher's
``cartable course autograde`` runs notebooks in."""

from __future__ import annotations

import json
import zlib

from tornado import ioloop, web

from cartable.core.db import Submission
from cartable.core.i18n import _
from cartable.grading.exchange.handlers.base import BaseHandler, TeacherUploadHandler
from cartable.grading.exchange.protocol import Refused, safe_id


@web.stream_request_body
class PracticeHandler(TeacherUploadHandler):
    """Teacher: PUT the source folder (tar.gz, with solutions and hidden tests) to grade on submit; DELETE to stop."""

    async def put(self, course, assignment):
        import tarfile

        files = {}
        try:
            with tarfile.open(fileobj=self.body(), mode="r:*") as tar:
                for m in tar.getmembers():
                    if m.isfile() and m.size < 50 * 2**20 and not m.name.startswith(("/", "..")) \
                            and "/../" not in m.name and ".ipynb_checkpoints" not in m.name:
                        files[m.name] = tar.extractfile(m).read()
        except (tarfile.TarError, EOFError, OSError, zlib.error):
            raise Refused(400, "bad-archive", _("The upload is not a readable tar.gz archive.")) from None
        if not any(name.endswith(".ipynb") for name in files):
            raise Refused(400, "no-notebook", _("The submission holds no notebook."))
        loop = ioloop.IOLoop.current()
        try:
            await loop.run_in_executor(None, self.app.practice.setup, course, assignment, files)
        except RuntimeError as e:
            raise Refused(400, "practice-failed", _("The practice version could not be prepared: {error}"),
                          error=str(e)[-500:]) from None
        self.app.store.audit_now(self.username, self.acc.role, "practice-on", course_id=course, assignment=assignment)
        self.send_json({"course_id": course, "assignment_id": assignment, "practice": True}, 201)

    def delete(self, course, assignment):
        self.app.practice.withdraw(course, assignment)
        self.app.store.audit_now(self.username, self.acc.role, "practice-off", course_id=course, assignment=assignment)
        self.send_json({"course_id": course, "assignment_id": assignment, "practice": False})


class PracticeResultHandler(BaseHandler):
    """The practice grading of one submission: its pupil or a teacher of the course."""

    def get(self, sub_id):
        with self.app.db.session() as s:
            sub = s.get(Submission, sub_id)
        if sub is None or not (sub.student == self.username or self.acc.can_teach(sub.course_id)):
            raise self.not_found()
        if not self.app.practice.enabled(sub.course_id, sub.assignment):
            self.send_json({"status": "off"})
            return
        self.send_json(self.app.practice.result(sub.course_id, sub.assignment, sub_id) or {"status": "unknown"})


class SandboxHandler(BaseHandler):
    """Teacher: run one (sanitized) notebook of a course in the service's sandbox.

    A teacher's server is not root, so its own fork server cannot give a submission an account
    or a network namespace of its own: ``cartable course autograde`` sends the execution phase
    here instead (:class:`cartable.grading.autograde.RemoteSandbox`). The request holds only
    cells, limits and the assignment's support files; the service adds the hidden paths.
    """

    async def post(self):
        import base64
        from dataclasses import asdict

        from cartable.grading.autograde import clamp_limits
        from cartable.grading.sandbox import Limits

        try:
            req = json.loads(self.request.body)
            course = safe_id(str(req.get("course_id", "")), "course")
            cells = [{"index": int(c["index"]), "kind": str(c["kind"]), "source": str(c["source"])}
                     for c in req["cells"]]
            files = {str(k): base64.b64decode(v) for k, v in (req.get("files") or {}).items()}
            kinds = {k: type(v) for k, v in asdict(Limits()).items()}  # int or float
            limits = {k: kinds[k](v) for k, v in (req.get("limits") or {}).items()
                      if k in kinds and isinstance(v, (int, float))}
        except (ValueError, KeyError, TypeError, OverflowError):
            raise Refused(400, "bad-request", _("The grading request is not valid JSON with cells.")) from None
        self.require_teacher(course)
        if any(c["kind"] not in ("pupil", "trusted", "test") for c in cells):
            raise Refused(400, "bad-request", _("The grading request is not valid JSON with cells."))
        lim, lowered = clamp_limits(Limits(**limits), self.app.max_limits)
        fs = self.app.practice.forkserver
        loop = ioloop.IOLoop.current()
        ex = await loop.run_in_executor(self.app.sandbox_pool,
                                        lambda: fs().run(cells, lim.as_dict(), files, self.app.hidden))
        out = asdict(ex)
        out["sandbox"]["clamped"] = lowered
        out["cells"] = {str(k): v for k, v in ex.cells.items()}
        self.send_json(out)
