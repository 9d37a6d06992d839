"""Fixtures for the course-library checks.

The expensive work (executing lessons, rendering them through Voilà, running nbgrader on
every exercise set and exam) is done once per session, in parallel on
``CARTABLE_TEST_WORKERS`` workers (default: 2), and the tests then read the results.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[3]
COURSES = ROOT / "courses"
LESSONS = sorted((COURSES / "lessons").glob("*.ipynb"))
AR_LESSONS = [p for p in LESSONS if p.name.endswith(".ar.ipynb")]
GRADED = sorted([*(COURSES / "exercises").glob("*/*.ipynb"),
                 *(COURSES / "exams").glob("*/*.ipynb")])
WORKERS = int(os.environ.get("CARTABLE_TEST_WORKERS", "2"))
RUNNER = Path(__file__).with_name("nbgrader_run.py")


def _env():
    """Environment for child processes: the venv's scripts (nbgrader calls ``alembic``)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def ids(paths):
    return [p.name.removesuffix(".ipynb") for p in paths]


# Kernels talk over Unix sockets (IPC), not TCP: with many kernels starting at once on a
# shared machine, TCP port picking races and a kernel can wait forever for its ports.
DEADLINE = 180  # seconds for any single notebook, page or grading run


@pytest.fixture(scope="session")
def executed_lessons(tmp_path_factory):
    """``{path: (executed notebook, error or None)}`` — lessons run with nbclient."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    os.environ.setdefault("MPLBACKEND", "Agg")
    sockets = tmp_path_factory.mktemp("kernels")

    def run(path):
        nb = nbformat.read(path, as_version=4)
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=str(sockets / path.stem.replace(".", "-")))
        try:
            NotebookClient(nb, km=km, timeout=120, startup_timeout=60,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            return path, (nb, None)
        except Exception as exc:  # reported by the test for this lesson
            return path, (nb, exc)

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(pool.map(run, LESSONS))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def voila_pages(tmp_path_factory):
    """``{path: (status, html)}`` — each lesson rendered by a real Voilà server (loopback)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1", "--show_tracebacks=True",
             "--KernelManager.transport=ipc",
             # pages are not opened in a browser: let Voilà cull their idle kernels, but never
             # one whose page is still being rendered (a render waits up to DEADLINE; a kernel
             # culled mid-page showed "Kernel died" in that page)
             f"--MappingKernelManager.cull_idle_timeout={DEADLINE + 60}",
             "--MappingKernelManager.cull_interval=10",
             "--VoilaExecutor.timeout=300",
             f"--KernelManager.ip={tmp_path_factory.mktemp('voila-kernels') / 'k'}",
             str(COURSES / "lessons")],
            stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=str(COURSES / "lessons"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Voilà did not start:\n" + log.read_text(errors="replace"))
                time.sleep(0.3)

        def get(path):
            url = f"{base}/voila/render/{path.name}"
            start = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:
                    chunks = []
                    while chunk := resp.read(65536):
                        chunks.append(chunk)
                        if time.monotonic() - start > DEADLINE:
                            return path, (-1, "timeout while rendering")
                    return path, (resp.status, b"".join(chunks).decode("utf-8"))
            except urllib.error.HTTPError as exc:
                return path, (exc.code, exc.read().decode("utf-8", "replace"))
            except OSError as exc:
                return path, (-1, f"{type(exc).__name__}: {exc}")

        # one page at a time: IPC socket names are picked when a kernel starts, so kernels
        # started concurrently by one Voilà could pick the same ones
        pages = {}
        for path in LESSONS:
            pages[path] = get(path)[1]
            if pages[path][0] != 200:  # one retry, on a fresh kernel
                pages[path] = get(path)[1]
        return pages
    finally:
        _stop(proc)


def _stop(proc):
    """Stop Voilà and the kernels it started (they run in sessions of their own)."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=5)


@pytest.fixture(scope="session")
def graded_runs(tmp_path_factory):
    """``{assignment id: result}`` from :mod:`nbgrader_run` (stock nbgrader): ``WORKERS``
    processes in parallel, each grading its share of the assignments."""
    base = tmp_path_factory.mktemp("nbgrader")
    shares = [GRADED[i::WORKERS] for i in range(WORKERS)]

    def run(share):
        if not share:
            return {}
        try:
            proc = subprocess.run([sys.executable, str(RUNNER), str(base), *map(str, share)],
                                  capture_output=True, text=True, env=_env(),
                                  timeout=DEADLINE * len(share))
            out = proc.stdout
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        results = {}
        for line in out.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                results[r["assignment"]] = r
        for path in share:
            results.setdefault(path.stem, {"error": "nbgrader runner failed or timed out"})
        return results

    merged = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        for part in pool.map(run, shares):
            merged.update(part)
    return merged
