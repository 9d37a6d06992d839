"""Time to first render of a lesson through Voilà, without and with pre-started kernels.

Used by ``tests/bench/dashboards.py`` (its summary line's ``lesson_cold_s`` and ``lesson_warm_s``);
runnable alone: ``python tests/bench/lessons_render.py [--lesson suites] [--runs 3]``.

The lessons' own Voilà set-up (the served tree stamped by :class:`Library`, the ``cartable``
templates, the ``cartable-lesson`` kernel, the configuration of
:func:`cartable.extensions.lessons.service.voila_config`), run as Voilà's stand-alone server on
loopback without the Hub's OAuth (what is timed is Voilà's work, not the login):

- cold: a Voilà without pools; each GET of the lesson's page starts a kernel, runs the lesson
  and renders it (what every viewer waits for without pre-started kernels);
- warm: a Voilà whose pool holds one pre-started kernel for the lesson; each GET is timed once
  the pool is full again and its kernel had ``settle`` seconds to run the lesson (what a viewer
  waits for when a kernel is ready).

Each figure is the median of ``--runs`` page loads (whole page read), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _voila(site: Path, lesson_path: str, pool: int, log: Path) -> tuple[subprocess.Popen, str]:
    import json

    from cartable.extensions.lessons import SHARE
    from cartable.extensions.lessons.service import voila_config

    cfg = voila_config(site, pools={lesson_path: pool} if pool else {})
    config_dir = log.parent / f"config-{log.stem}"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "voila.json").write_text(json.dumps({k: dict(v) for k, v in cfg.items()}))
    args = []
    port = _port()
    env = dict(os.environ, JUPYTER_PATH=str(SHARE), JUPYTER_CONFIG_DIR=str(config_dir), MPLBACKEND="Agg")
    env.pop("CARTABLE_KERNEL_USER", None)
    out = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                             *args, str(site)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(site),
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/voila/static/voila.js", timeout=5).read(1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Voilà did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
    return proc, base


def _stop(proc):
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=5)


def _open(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=180) as resp:
        body = resp.read()
    elapsed = time.perf_counter() - start
    if b"application/vnd.jupyter.widget-view+json" not in body:
        raise RuntimeError("the lesson did not render its widgets")
    return elapsed


def _filled(log: Path) -> int:
    return log.read_text(errors="replace").count("is filled with")


def measure(lesson: str = "suites", runs: int = 3, settle: float = 8.0) -> dict:
    from cartable.extensions.lessons.library import Library

    with tempfile.TemporaryDirectory(prefix="lessons-bench-") as tmp:
        if os.environ.get("CARTABLE_BENCH_KEEP"):
            tmp = tempfile.mkdtemp(prefix="lessons-bench-kept-")
        lib = Library(Path(tmp) / "lessons")
        lessons = {x.id: x for x in lib.sync_library() if x.lang == "fr"}
        path = lessons[lesson].path
        cold, warm = [], []
        proc, base = _voila(lib.site, path, 0, Path(tmp) / "cold.log")
        try:
            for _ in range(runs):
                cold.append(_open(f"{base}/voila/render/{path}"))
        finally:
            _stop(proc)
        log = Path(tmp) / "warm.log"
        proc, base = _voila(lib.site, path, 1, log)
        try:
            for i in range(runs):
                deadline = time.monotonic() + 120
                while _filled(log) < i + 1:  # the pool is full again (1 at start, then after each use)
                    if time.monotonic() > deadline:
                        raise RuntimeError("the kernel pool did not fill:\n" + log.read_text(errors="replace")[-2000:])
                    time.sleep(0.2)
                # "filled" is logged once the kernel started; it then runs the lesson in the background
                time.sleep(settle)
                warm.append(_open(f"{base}/voila/render/{path}"))
        finally:
            _stop(proc)
    return {"lesson": path, "cold_s": statistics.median(cold), "warm_s": statistics.median(warm),
            "cold_runs": cold, "warm_runs": warm}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="suites")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    r = measure(args.lesson, args.runs)
    print(f"lesson {r['lesson']}: first render cold {r['cold_s']:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in r['cold_runs'])}), with a pre-started kernel {r['warm_s']:.3f} s "
          f"(runs {', '.join(f'{x:.3f}' for x in r['warm_runs'])})")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
