"""The Celery back-end: a real worker process, a real Redis broker on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import nbformat
import pytest
from support.autograde_batch import HONEST, make_course, mini_source, scores, write_submission
from support.autograde_batch import set_answers as _answers


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A throwaway ``redis-server`` with a password, as a site's broker has one."""
    server = shutil.which("redis-server")
    if not server:
        pytest.fail("redis-server is missing: run `make install` (deploy/ensure_system.sh installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    password = uuid.uuid4().hex
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--requirepass", password], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if _port_open(port):
            break
        time.sleep(0.1)
    yield f"redis://:{password}@127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def test_celery_workers_grade_like_the_local_pool(tmp_path, redis_url):
    src = tmp_path / "lib" / "exercises" / "mini" / "mini.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(mini_source(), src)
    course = make_course(tmp_path / "course", [src], pupils=0, course_id="celery-course", assignment="mini")
    root = course["root"]
    released = nbformat.read(root / "release" / "mini" / "mini.ipynb", 4)
    for name, (answers, _) in HONEST.items():
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        _answers(nb, answers)
        d = write_submission(root, "mini", name, lambda gid: False)
        nbformat.write(nb, d / "mini.ipynb")
    queue = f"cartable-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CARTABLE_CELERY_BROKER": redis_url, "CARTABLE_CELERY_QUEUE": queue}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "cartable.grading.tasks", "worker", "--pool",
                               "solo", "--concurrency", "1", "--without-gossip", "--without-mingle",
                               "--loglevel", "WARNING"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    os.environ.update({"CARTABLE_CELERY_BROKER": redis_url, "CARTABLE_CELERY_QUEUE": queue})
    try:
        import importlib

        import cartable.grading.tasks as tasks
        importlib.reload(tasks)
        from cartable.grading.autograde import grade_with_celery

        seen = []
        results = grade_with_celery(root, "celery-course", None, "mini", sorted(HONEST), progress=seen.append,
                                    timeout=180)
    finally:
        worker.terminate()
        try:
            out = worker.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            worker.kill()
            out = worker.communicate()[0]
        for k in ("CARTABLE_CELERY_BROKER", "CARTABLE_CELERY_QUEUE"):
            os.environ.pop(k, None)
    assert len(seen) == len(HONEST), out[-3000:]
    got = {r.student: r.score for r in results}
    assert got == {name: expected for name, (_, expected) in HONEST.items()}, out[-3000:]
    assert scores(f"sqlite:///{root / 'gradebook.db'}", "celery-course", "mini", sorted(HONEST)) == {
        name: {"mini": float(expected)} for name, (_, expected) in HONEST.items()}
