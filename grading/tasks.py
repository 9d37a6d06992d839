"""The Celery back-end of the grading engine, for sites that outgrow one machine.

Each Celery task grades one submission with the same :meth:`Autograder.grade_one` as the
in-process engine; a worker process keeps one :class:`~.autograde.Autograder` (and so one fork
server) per course folder it has seen. The broker is Redis (``CARTABLE_CELERY_BROKER``,
default ``redis://127.0.0.1:6379/0``), results go back through the same Redis.

Run workers with::

    celery -A cartable.grading.tasks worker --concurrency 2

(queue ``CARTABLE_CELERY_QUEUE``, default ``cartable-grading``).

Workers must see the course folders (same machine, or a shared volume at the same path) and
the gradebook (PostgreSQL for several machines).
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery

from cartable.core.connections import password_warning

BROKER = os.environ.get("CARTABLE_CELERY_BROKER", "redis://127.0.0.1:6379/0")

app = Celery("cartable.grading", broker=BROKER, backend=os.environ.get("CARTABLE_CELERY_BACKEND", BROKER))
app.conf.update(task_default_queue=os.environ.get("CARTABLE_CELERY_QUEUE", "cartable-grading"),
                task_serializer="json", result_serializer="json", accept_content=["json"],
                task_acks_late=True, worker_prefetch_multiplier=1, task_track_started=True,
                broker_connection_retry_on_startup=True)

_weak = password_warning("CARTABLE_CELERY_BROKER", BROKER)
if _weak:
    logging.getLogger("cartable.grading.tasks").warning(_weak)

_graders: dict[tuple, object] = {}
_lock = threading.Lock()


def _grader(course_dir: str, course_id: str, db_url: str | None, limits: dict | None):
    from cartable.grading.autograde import Autograder, site_max_limits
    from cartable.grading.sandbox import Limits

    key = (course_dir, course_id, db_url, tuple(sorted((limits or {}).items())))
    with _lock:
        if key not in _graders:
            # the site's maxima bound what the task asks ($CARTABLE_CONFIG in the worker's environment)
            _graders[key] = Autograder(course_dir, course_id, db_url, limits=Limits(**(limits or {})), workers=1,
                                       max_limits=site_max_limits())
        return _graders[key]


@app.task(name="cartable.grade_submission")
def grade_submission(course_dir: str, course_id: str, db_url: str | None, assignment: str, student: str,
                     limits: dict | None = None) -> dict:
    """Grade one submission; returns the :class:`~.autograde.JobResult` as a dict."""
    grader = _grader(course_dir, course_id, db_url, limits)
    grader.forkserver.start()
    return grader.grade_one(assignment, student).as_dict()
