"""Deadline storm: N pupils submit within a window (default 300 in 60 s) to the exchange service.

A real Cartable hub on this machine: a roster of N pupils (10 classes) is imported, each
pupil gets a Hub token through the Hub's REST API (as the admin), a teacher releases one
assignment to every class, then each pupil POSTs a tar.gz of one notebook (different
content each) straight to the service with their own token, at a random moment of the
window. Every receipt is then checked against what is stored (database row + files
re-hashed). For comparison, the same submissions go through stock nbgrader's exchange
(``ExchangeSubmit`` to a shared directory, in-process, as JupyterLab's assignment list
runs it) in the same run. A benchmark, not a test.

    python tests/bench/deadline_storm.py [--pupils 300] [--window 60] [--no-stock]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.harness import Browser, Hub

CLASSES = 10


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def notebook(i: int) -> bytes:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": f"# élève {i}\nx = {random.random()!r}\n" + "y = 1\n" * 200} for _ in range(20)]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode()


def tgz(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def roster(path: Path, n: int) -> list[tuple[str, str]]:
    """N pupils in CLASSES classes, one maths teacher of all; returns (pupil, class)."""
    rows, pupils = [], []
    for i in range(n):
        klass = f"2B{i % CLASSES:02d}"
        uid = f"S{100000 + i}"
        rows.append(["élève", uid, f"Nom{i}", f"Prenom{i}", klass, "", "2026-2027"])
        pupils.append((uid.lower(), klass))
    rows.append(["enseignant", "T900001", "Prof", "Maths", ";".join(f"2B{k:02d}" for k in range(CLASSES)), "maths",
                 "2026-2027"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["role", "identifiant", "nom", "prenom", "classe", "matieres", "annee_scolaire"])
        w.writerows(rows)
    return pupils


def storm(jobs, window: float, submit) -> list[dict]:
    """Run ``submit(job)`` for every job at a random moment of the window; time each."""
    results = [None] * len(jobs)
    start = time.monotonic() + 1.0
    offsets = sorted(random.uniform(0, window) for _ in jobs)

    def one(k, job):
        delay = start + offsets[k] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t0 = time.monotonic()
        try:
            receipt = submit(job)
            results[k] = {"ok": True, "ms": (time.monotonic() - t0) * 1000, "receipt": receipt, "job": job}
        except Exception as e:  # counted as not acknowledged
            results[k] = {"ok": False, "ms": (time.monotonic() - t0) * 1000, "error": repr(e)[:300], "job": job}

    threads = [threading.Thread(target=one, args=(k, job)) for k, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def ours(args, tmp: Path) -> dict:
    hub = Hub(tmp / "hub", database_url=args.database_url,
              settings={"spawner": {"unix_prefix": "cs-"}, "hub": {"concurrent_spawn_limit": 10}})
    pupils = roster(tmp / "roster.csv", args.pupils)
    t0 = time.monotonic()
    accounts = hub.import_roster(tmp / "roster.csv")
    hub.start()
    admin = Browser(hub.url)
    assert admin.login("admin", accounts.password("admin")).status_code == 302

    def token(user):
        r = admin.s.post(f"{hub.url}/hub/api/users/{user}/tokens", headers=admin.xsrf_headers(), timeout=60,
                         json={"scopes": ["access:services!service=cartable-exchange"], "note": "deadline storm"})
        r.raise_for_status()
        return r.json()["token"]

    tokens = {u: token(u) for u, _ in pupils}
    base = f"http://127.0.0.1:{hub.port + 3}/services/cartable-exchange/api/"
    teacher = token("t900001")
    courses = {}
    for k in range(CLASSES):
        course = f"demo-2026-2b{k:02d}-maths"
        r = requests.post(base + f"courses/{course}/assignments/storm/release", timeout=60,
                          headers={"Authorization": f"token {teacher}"}, params={"due": "2099-01-01 00:00"},
                          data=tgz("storm.ipynb", b"{}"))
        assert r.status_code == 201, r.text
        courses[f"2B{k:02d}"] = course
    print(f"set-up: {len(tokens)} pupils with tokens, {len(courses)} courses in {time.monotonic() - t0:.0f} s",
          flush=True)
    jobs = [(u, courses[k], notebook(i)) for i, (u, k) in enumerate(pupils)]
    session = threading.local()

    def submit(job):
        user, course, data = job
        s = getattr(session, "s", None) or requests.Session()
        session.s = s
        r = s.post(base + f"courses/{course}/assignments/storm/submissions", data=tgz("storm.ipynb", data),
                   headers={"Authorization": f"token {tokens[user]}"}, timeout=120)
        if r.status_code != 201:
            raise RuntimeError(f"{r.status_code} {r.text[:200]}")
        return r.json()

    results = storm(jobs, args.window, submit)
    # what is stored: the database rows and files, re-hashed
    from sqlalchemy import select

    from cartable.core.db import Database, Submission
    from cartable.grading.exchange.protocol import manifest_digest
    from cartable.grading.exchange.store import Store

    db = Database(hub.cfg.database_url("cartable"))
    store = Store(hub.state / "exchange", db)
    with db.session() as s:
        rows = {r.id: r for r in s.scalars(select(Submission).where(Submission.assignment == "storm"))}
    stored = 0
    for res in results:
        if not res["ok"]:
            continue
        rec = res["receipt"]
        row = rows.get(rec["submission_id"])
        sent = hashlib.sha256(res["job"][2]).hexdigest()
        if row is None or row.digest != rec["sha256"] or row.student != res["job"][0]:
            continue
        manifest = json.loads(row.manifest)
        if manifest_digest(manifest) == rec["sha256"] and store.verify(manifest) and manifest[0]["sha256"] == sent:
            stored += 1
    db.dispose()
    hub.stop()
    return summarise("cartable", results, stored)


def stock(args, tmp: Path) -> dict:
    """The same storm through nbgrader's default exchange: a shared world-writable folder."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeSubmit
    from traitlets.config import Config

    root = tmp / "stock-exchange"
    outbound = root / "maths" / "outbound" / "storm"
    outbound.mkdir(parents=True)
    (outbound / "storm.ipynb").write_text("{}")
    (root / "maths" / "inbound").mkdir()
    os.chmod(root / "maths" / "inbound", 0o733)
    jobs = []
    for i in range(args.pupils):
        home = tmp / "stock-homes" / f"s{i}"
        (home / "storm").mkdir(parents=True)
        data = notebook(i)
        (home / "storm" / "storm.ipynb").write_bytes(data)
        jobs.append((f"s{i}", home, data))

    def submit(job):
        user, home, _data = job
        c = Config()
        c.CourseDirectory.course_id = "maths"
        c.CourseDirectory.assignment_id = "storm"
        c.CourseDirectory.student_id = user
        c.Exchange.root = str(root)
        c.Exchange.cache = str(home / ".cache")
        c.Exchange.assignment_dir = str(home)
        ex = ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c)
        ex.start()
        return {"timestamp": ex.timestamp}

    results = storm(jobs, args.window, submit)
    stored = 0
    inbound = {p.name.split("+")[0]: p for p in (root / "maths" / "inbound").iterdir()}
    for res in results:
        p = inbound.get(res["job"][0])
        if res["ok"] and p is not None and (p / "storm.ipynb").read_bytes() == res["job"][2]:
            stored += 1
    return summarise("stock", results, stored)


def summarise(name, results, stored) -> dict:
    ok = [r for r in results if r["ok"]]
    lat = [r["ms"] for r in ok]
    out = {"name": name, "submitted": len(results), "acknowledged": len(ok), "stored": stored,
           "lost": len(ok) - stored, "failed": len(results) - len(ok), "p50": pct(lat, 50), "p99": pct(lat, 99)}
    errors = sorted({r["error"] for r in results if not r["ok"]})[:3]
    print(f"{name:8s} submitted={out['submitted']} acknowledged={out['acknowledged']} stored={out['stored']} "
          f"lost={out['lost']} failed={out['failed']} p50_ms={out['p50']:.0f} p99_ms={out['p99']:.0f}"
          + (f" errors={errors}" if errors else ""), flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=300)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which submissions arrive")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--no-stock", action="store_true", help="skip stock nbgrader's shared-folder exchange")
    args = parser.parse_args()
    random.seed(1)
    with tempfile.TemporaryDirectory(prefix="deadline-storm-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)
        if not args.no_stock:
            s = stock(args, tmp)
        o = ours(args, tmp)
    if not args.no_stock:
        print(f"stock nbgrader (shared folder): p50_ms={s['p50']:.0f} p99_ms={s['p99']:.0f} lost={s['lost']}; "
              f"cartable / stock p99 ratio = {o['p99'] / s['p99']:.2f} (the stock exchange has no identity check, "
              f"receipt, quota or database)")
    print(f"deadline_storm submitted={o['submitted']} acknowledged={o['acknowledged']} stored={o['stored']} "
          f"lost={o['lost']} p50_ms={o['p50']:.0f} p99_ms={o['p99']:.0f}")


if __name__ == "__main__":
    main()
