"""Benchmark: stock ``nbgrader autograde`` against Cartable's grading engine, same batch, one run.

    python tests/bench/autograde.py [--submissions 60] [--workers N]

The batch: an assignment made of two exercise sets of ``courses/`` (``ex-suites`` and
``ex-derivation``), one submission per pupil with a spread of right and missing answers.
Stock nbgrader grades a copy of the course (``NbGraderAPI.autograde`` per pupil, one kernel
per notebook, as ``nbgrader autograde`` does); ours grades another copy, sandbox on when
run as root. Prints both times, the ratio, whether every score matched, and a summary line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.autograde_batch import make_course, scores, stock_scores  # noqa: E402

from cartable.grading.autograde import Autograder, sandbox_state  # noqa: E402

SOURCES = [ROOT / "courses" / "exercises" / "ex-suites" / "ex-suites.ipynb",
           ROOT / "courses" / "exercises" / "ex-derivation" / "ex-derivation.ipynb"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--submissions", type=int, default=60)
    p.add_argument("--workers", type=int, default=None, help="default: the engine's (cores + 2)")
    args = p.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    work = Path(tempfile.mkdtemp(prefix="cartable-bench-autograde-"))
    try:
        course = make_course(work / "stock", SOURCES, args.submissions)
        ours_root = work / "ours"
        shutil.copytree(course["root"], ours_root)
        pupils, assignment = course["pupils"], course["assignment"]
        print(f"batch: {len(pupils)} submissions x {len(SOURCES)} notebooks", flush=True)

        t = time.perf_counter()
        for s in pupils:
            res = course["api"].autograde(assignment, s, force=True, create=True)
            if not res["success"]:
                raise SystemExit("stock autograde failed:\n" + res["log"][-2000:])
        stock_s = time.perf_counter() - t
        print(f"stock nbgrader autograde: {stock_s:.1f} s ({stock_s / len(pupils):.2f} s per submission)", flush=True)

        t = time.perf_counter()
        with Autograder(ours_root, course["course_id"], workers=args.workers) as grader:
            results = grader.grade(assignment)
        ours_s = time.perf_counter() - t
        failed = [r for r in results if r.error]
        print(f"cartable (sandbox {sandbox_state()}, {grader.workers} workers, fork-server start included): "
              f"{ours_s:.2f} s ({ours_s / len(pupils) * 1000:.0f} ms per submission), {len(failed)} failed")

        stock = stock_scores(course["api"], assignment, pupils)
        ours = scores(f"sqlite:///{ours_root / 'gradebook.db'}", course["course_id"], assignment, pupils)
        match = stock == ours and len(stock) == len(pupils)
        for s in pupils:
            if stock.get(s) != ours.get(s):
                print(f"  mismatch {s}: stock {stock.get(s)} ours {ours.get(s)}")
        ratio = stock_s / ours_s
        print(f"ratio: {ratio:.1f}x (target >= 20x)")
        print(f"autograde submissions={len(pupils)} stock_s={stock_s:.2f} ours_s={ours_s:.2f} ratio={ratio:.1f} "
              f"scores_match={'yes' if match else 'no'} sandbox={sandbox_state()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
