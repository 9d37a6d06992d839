"""What is not a pupil's own stays out of a pupil's reach while grading (issue 11, item 5).

One small assignment (``mini2``: two questions, 2 points, a course helper ``outils.py``
shipped beside it, hidden tests that define an expected value and a helper used by the next
test) is graded in one batch, one submission after the other, by the real engine: real fork
server, namespaces, seccomp filter. Each attack is one pupil's submission with its exact
expected score; what a submission saw is read from the outputs of its autograded notebook.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import nbformat
import pytest
from support.autograde_batch import make_course, write_submission

from cartable.grading.autograde import Autograder
from cartable.grading.sandbox import MAX_LIMITS, Limits, isolation_available

ROOT = Path(__file__).resolve().parents[3]
needs_root = pytest.mark.skipif(not isolation_available(), reason="isolation needs root")
TOKEN = uuid.uuid4().hex[:12]  # names of the files one submission leaves for the next
LEFT = [f"/tmp/cartable-left-{TOKEN}", f"/var/tmp/cartable-left-{TOKEN}", f"/dev/shm/cartable-left-{TOKEN}"]
HELPER = "VRAI = 42\n\ndef proche(a, b):\n    return abs(a - b) < 1e-9\n"


def _md(gid, **kw):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, "task": False, **kw}}


def mini2_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [
        ("imports", "import math\nimport numpy as np\nfrom cartable.grading import check", {"locked": True}),
        ("s1", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", {"solution": True}),
        ("t1", "assert double(2) == 4\n### BEGIN HIDDEN TESTS\n_attendu = 0.75\ndef _aide(x):\n    return 2 * x\n"
               "assert double(10) == _aide(10)\n### END HIDDEN TESTS", {"grade": True, "locked": True, "points": 1}),
        ("s2", "### BEGIN SOLUTION\nr = 0.75\n### END SOLUTION", {"solution": True}),
        ("t2", "### BEGIN HIDDEN TESTS\nimport colorsys, outils\nassert outils.VRAI == 42 and _aide(3) == 6\n"
               "assert outils.proche(r, _attendu)\n"
               "assert colorsys.hsv_to_rgb(0.0, 0.0, r) == (_attendu, _attendu, _attendu)\n### END HIDDEN TESTS",
         {"grade": True, "locked": True, "points": 1}),
    ]
    for gid, src, md in cells:
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata.update(_md(gid, **md))
        nb.cells.append(cell)
    return nb


RIGHT = {"s1": "def double(x):\n    return 2 * x", "s2": "r = 0.75"}
HALF = {"s1": RIGHT["s1"], "s2": "r = 0.5"}


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _answer(nb, answers):
    for gid, src in answers.items():
        _cell(nb, gid).source = src


def _after(gid, source):
    def edit(nb):
        nb.cells.insert(nb.cells.index(_cell(nb, gid)) + 1, nbformat.v4.new_code_cell(source))
    return edit


LOOK = ("print('PEEK', sorted(k for k in globals() if k.startswith('_a')), "
        "sorted(k for k in dir() if k.startswith('_a')))\n")
PEEK = LOOK + "try:\n    print('VALUE', _attendu)\nexcept NameError:\n    print('VALUE hidden')"

SHADOW = """import os
for name, text in [('numpy.py', 'raise SystemExit'), ('math.py', 'raise SystemExit'),
                   ('colorsys.py', 'def hsv_to_rgb(h, s, v):\\n    return (0.75, 0.75, 0.75)\\n')]:
    with open(name, 'w') as f:
        f.write(text)
os.mkdir('outils')
with open('outils/__init__.py', 'w') as f:
    f.write('VRAI = 42\\ndef proche(a, b):\\n    return True\\n')
try:
    with open('outils.py', 'w') as f:
        f.write('def proche(a, b):\\n    return True\\n')
except OSError as e:
    print('HELPER', type(e).__name__)
import colorsys, outils
print('SHADOW', colorsys.__file__, outils.__file__)
"""

WRITE_LEFT = f"""for p in {LEFT!r}:
    with open(p, 'w') as f:
        f.write('left by another submission')
print('WROTE', len({LEFT!r}))
"""
READ_LEFT = f"""import os
print('SEEN', [p for p in {LEFT!r} if os.path.exists(p)])
"""

FILL_SHM = """import errno, os
written, error = 0, None
names = []
try:
    for i in range(16):
        name = f'/dev/shm/fill-{i}'
        names.append(name)
        with open(name, 'wb') as f:
            for _ in range(8):
                f.write(b'\\1' * 2 ** 20)
                written += 1
except OSError as e:
    error = errno.errorcode.get(e.errno, str(e.errno))
finally:
    for name in names:
        try:
            os.unlink(name)
        except OSError:
            pass
print('SHM', written, error)
"""

# Each would make a process that creates the file ``made-by-child`` in the working directory.
FORK_EXEC = """import _posixsubprocess, os, subprocess, time
r, w = os.pipe()
try:
    _posixsubprocess.fork_exec([b'touch', b'made-by-child'], [b'/usr/bin/touch'], True, (), None, None,
                               -1, -1, -1, -1, -1, -1, r, w, False, False, -1, None, None, None, -1, None,
                               subprocess._USE_VFORK)
    print('CALL ok')
except OSError as e:
    print('CALL', type(e).__name__)
time.sleep(1)
print('CHILD', os.path.exists('made-by-child'))
"""
MULTIPROCESSING = """import multiprocessing, os
try:
    p = multiprocessing.get_context('spawn').Process(target=os.mkdir, args=('made-by-child',))
    p.start()
    p.join(15)
    print('CALL ok')
except OSError as e:
    print('CALL', type(e).__name__)
print('CHILD', os.path.exists('made-by-child'))
"""


def _process_attack(call):
    return ("import os, time\ntry:\n    " + call + "\n    print('CALL ok')\nexcept Exception as e:\n"
            "    print('CALL', type(e).__name__)\ntime.sleep(1)\nprint('CHILD', os.path.exists('made-by-child'))")


POSIX_SPAWN = _process_attack("os.posix_spawn('/usr/bin/touch', ['touch', 'made-by-child'], {})")
SUBPROCESS_RUN = _process_attack("import subprocess; subprocess.run(['/usr/bin/touch', 'made-by-child'])")
OS_SYSTEM = _process_attack("os.system('/usr/bin/touch made-by-child')")
THREADS = ("import threading\nseen = []\nts = [threading.Thread(target=seen.append, args=(i,)) for i in range(8)]\n"
           "[t.start() for t in ts]\n[t.join() for t in ts]\nprint('THREADS', len(seen))")

# name (graded in this order) -> (answers, edits, expected score)
SUBMISSIONS = {
    "a_honest": (RIGHT, [_after("s2", THREADS)], 2),
    "b_honest_half": (HALF, [], 1),
    "c_peek_hidden": (RIGHT, [_after("t1", PEEK), _after("t2", PEEK)], 2),
    "d_shadow_modules": (HALF, [_after("imports", SHADOW)], 1),
    "e_tmp_writer": (RIGHT, [_after("imports", WRITE_LEFT)], 2),
    "f_tmp_reader": (RIGHT, [_after("imports", READ_LEFT)], 2),
    "g_fill_shm": (RIGHT, [_after("imports", FILL_SHM)], 2),
    "h_fork_exec": (RIGHT, [_after("imports", FORK_EXEC)], 2),
    "i_multiprocessing": (RIGHT, [_after("imports", MULTIPROCESSING)], 2),
    "j_posix_spawn": (RIGHT, [_after("imports", POSIX_SPAWN)], 2),
    "k_subprocess_run": (RIGHT, [_after("imports", SUBPROCESS_RUN)], 2),
    "l_os_system": (RIGHT, [_after("imports", OS_SYSTEM)], 2),
}
LIMITS = Limits(cell_seconds=20, notebook_seconds=120, memory_mb=512, disk_mb=32)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    work = tmp_path_factory.mktemp("hardening")
    src = work / "lib" / "exercises" / "mini2" / "mini2.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(mini2_source(), src)
    made = make_course(work / "course", [src], pupils=0, course_id="mini2-course", assignment="mini2")
    root = made["root"]
    (root / "source" / "mini2" / "outils.py").write_text(HELPER)
    return root


def _released(root):
    return nbformat.read(root / "release" / "mini2" / "mini2.ipynb", 4)


@pytest.fixture(scope="module")
def graded(course):
    root = course
    for name, (answers, edits, _) in SUBMISSIONS.items():
        nb = _released(root)
        _answer(nb, answers)
        for edit in edits:
            edit(nb)
        nbformat.write(nb, write_submission(root, "mini2", name, lambda gid: False) / "mini2.ipynb")
    try:
        # one worker: each submission is graded after the one before it
        with Autograder(root, "mini2-course", limits=LIMITS, workers=1) as grader:
            results = {r.student: r for r in grader.grade("mini2", list(SUBMISSIONS))}
    finally:
        left_on_host = [p for p in LEFT if os.path.exists(p)]
        for p in left_on_host:
            os.unlink(p)
    return {"root": root, "results": results, "left_on_host": left_on_host}


def printed(graded, name: str, prefix: str) -> list[str]:
    nb = nbformat.read(graded["root"] / "autograded" / name / "mini2" / "mini2.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    return [line for line in text.splitlines() if line.startswith(prefix + " ")]


def test_an_honest_submission_scores_full_marks_with_threads_working(graded):
    r = graded["results"]["a_honest"]
    assert r.error is None and r.score == 2 and not r.tampering, (r.error, r.tampering)
    assert printed(graded, "a_honest", "THREADS") == ["THREADS 8"]
    if isolation_available():
        assert {"private-tmp", "no-new-process"} <= set(r.sandbox["applied"]) and not r.sandbox["missing"]


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_each_submission_scores_exactly(graded, name):
    r = graded["results"][name]
    assert r.error is None, r.error
    assert r.score == SUBMISSIONS[name][2], (r.score, r.tampering, r.notebooks)


# -- 1. private /tmp, /var/tmp, /dev/shm

@needs_root
def test_what_a_submission_leaves_in_tmp_is_gone_for_the_next(graded):
    assert printed(graded, "e_tmp_writer", "WROTE") == ["WROTE 3"]
    assert printed(graded, "f_tmp_reader", "SEEN") == ["SEEN []"]
    assert graded["left_on_host"] == []
    report = json.loads((graded["root"] / "autograded" / "f_tmp_reader" / "mini2" / ".cartable-grading.json")
                        .read_text())
    assert "private-tmp" in report["sandbox"]["applied"]


@needs_root
def test_dev_shm_is_bounded_by_the_disk_limit(graded):
    (line,) = printed(graded, "g_fill_shm", "SHM")
    _, written, error = line.split()
    assert error == "ENOSPC" and int(written) <= LIMITS.disk_mb, line


# -- 2. no new process

@pytest.mark.parametrize("name,refused", [
    ("h_fork_exec", "process refused by the kernel"), ("i_multiprocessing", "process refused by the kernel"),
    ("j_posix_spawn", "os.posix_spawn"), ("k_subprocess_run", "subprocess.Popen"), ("l_os_system", "os.system"),
])
def test_no_submission_gets_a_process_and_each_try_is_reported(graded, name, refused):
    assert printed(graded, name, "CHILD") == ["CHILD False"]
    (call,) = printed(graded, name, "CALL")
    assert call != "CALL ok", call
    r = graded["results"][name]
    assert any(refused in t for t in r.tampering), r.tampering
    report = json.loads((graded["root"] / "autograded" / name / "mini2" / ".cartable-grading.json").read_text())
    assert any(refused in t for n in report["notebooks"] for t in n["tampering"])


def test_process_creation_is_refused_without_root_too():
    """The filter needs no privilege: the fork server of an unprivileged account refuses as well."""
    import shutil
    import tempfile

    here = Path(tempfile.mkdtemp(prefix="cartable-noroot-"))
    here.chmod(0o755)
    script = here / "probe.py"
    script.write_text(f"""
import json
from cartable.grading.forkserver import ForkServer
with ForkServer() as fs:
    ex = fs.run([{{"index": 0, "kind": "pupil", "source": {FORK_EXEC!r}}},
                 {{"index": 1, "kind": "pupil", "source": {THREADS!r}}}], {{"cell_seconds": 20}})
text = "".join(o.get("text", "") for c in ex.cells.values() for o in c["outputs"])
print(json.dumps({{"text": text, "tampering": ex.tampering, "sandbox": ex.sandbox}}))
""")
    script.chmod(0o644)
    cmd = [sys.executable, str(script)]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd="/", env={"PATH": "/usr/bin:/bin"})
    finally:
        shutil.rmtree(here)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["sandbox"]["isolated"] is False and "no-new-process" in res["sandbox"]["applied"]
    assert "CHILD False" in res["text"] and "CALL PermissionError" in res["text"], res["text"]
    assert "THREADS 8" in res["text"]
    assert any("process refused by the kernel" in t for t in res["tampering"]), res["tampering"]


# -- 3. the working directory never first on sys.path

def test_a_pupils_modules_never_stand_for_the_genuine_ones(graded):
    assert printed(graded, "d_shadow_modules", "HELPER") == (["HELPER PermissionError"] if isolation_available()
                                                            else [])
    (line,) = printed(graded, "d_shadow_modules", "SHADOW")
    _, colorsys_file, outils_file = line.split()
    assert colorsys_file.startswith(sys.base_prefix) or "/usr/lib/python3" in colorsys_file, line
    assert outils_file.endswith("/.cartable/outils.py"), line
    assert graded["results"]["d_shadow_modules"].score == graded["results"]["b_honest_half"].score == 1


# -- 4. what hidden tests define stays hidden

def test_names_defined_by_hidden_tests_are_invisible_to_pupil_cells(graded):
    assert printed(graded, "c_peek_hidden", "PEEK") == ["PEEK [] []"] * 2
    assert printed(graded, "c_peek_hidden", "VALUE") == ["VALUE hidden"] * 2


def test_hidden_names_stay_hidden_in_practice_mode(course, tmp_path):
    from cartable.grading.practice import Practice

    practice = Practice(tmp_path / "practice")
    files = {p.name: p.read_bytes() for p in (course / "source" / "mini2").iterdir() if p.is_file()}
    practice.setup("mini2-course", "mini2", files)
    nb = _released(course)
    _answer(nb, RIGHT)
    _after("t1", LOOK)(nb)  # the page shows the source: it names no hidden name itself
    buf = io.BytesIO()
    data = nbformat.writes(nb).encode()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("mini2.ipynb")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    pages = {}

    def store(notebook, html):
        pages[notebook] = html
        return notebook

    try:
        res = practice.grade("mini2-course", "mini2", "sub-1", "eleve", buf.getvalue(), "2026-11-20T10:00:00", store)
    finally:
        practice.close()
    assert res["status"] == "graded" and res["score"] == 2, res
    html = pages["mini2"]
    assert "PEEK [] []" in html
    assert "_attendu" not in html and "_aide" not in html and "0.75, 0.75" not in html


# -- 5. limits clamped to the site's maxima

def test_a_teachers_limits_are_clamped_to_the_sites_maxima(course):
    probe = ("import os, resource\nused = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
             "print('LIMITS', resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_CPU)[0],"
             " (resource.getrlimit(resource.RLIMIT_AS)[0] - used) // 2 ** 20)")
    nb = _released(course)
    _answer(nb, RIGHT)
    _after("imports", probe)(nb)
    nbformat.write(nb, write_submission(course, "mini2", "z_limits", lambda gid: False) / "mini2.ipynb")
    asked = Limits(memory_mb=100000, processes=10000, cell_seconds=10 ** 6, cpu_seconds=10 ** 6)
    with Autograder(course, "mini2-course", limits=asked, workers=1) as grader:
        (job,) = grader.grade("mini2", ["z_limits"])
    assert job.error is None and job.score == 2
    nb = nbformat.read(course / "autograded" / "z_limits" / "mini2" / "mini2.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    (line,) = [ln for ln in text.splitlines() if ln.startswith("LIMITS ")]
    _, nproc, cpu, memory_left = line.split()
    assert int(cpu) == MAX_LIMITS["cpu_seconds"] and int(memory_left) <= MAX_LIMITS["memory_mb"], line
    if isolation_available():
        assert int(nproc) == MAX_LIMITS["processes"], line
    assert job.sandbox["clamped"] == {"memory_mb": [100000, 2048], "processes": [10000, 64],
                                      "cell_seconds": [10 ** 6, 120], "cpu_seconds": [10 ** 6, 300]}
    report = json.loads((course / "autograded" / "z_limits" / "mini2" / ".cartable-grading.json").read_text())
    assert report["sandbox"]["clamped"]["memory_mb"] == [100000, 2048]


def test_the_sites_maxima_are_the_schemas_defaults_and_can_be_lowered():
    from cartable.core import config

    cfg = config.from_dict({"school": {"name": "Lycée", "code": "L"}})
    assert cfg["grading"]["max_limits"] == MAX_LIMITS
    cfg = config.from_dict({"school": {"name": "Lycée", "code": "L"}, "grading": {"max_limits": {"memory_mb": 512}}})
    lim, lowered = Limits(memory_mb=768, cell_seconds=30).clamped(cfg["grading"]["max_limits"])
    assert lim.memory_mb == 512 and lim.cell_seconds == 30 and lowered == {"memory_mb": [768, 512]}
    with pytest.raises(config.ConfigError):
        config.from_dict({"school": {"name": "Lycée", "code": "L"}, "grading": {"max_limits": {"memory_mb": "lots"}}})


@needs_root
def test_the_exchange_hides_the_sites_state_and_homes(tmp_path):
    """The exchange service's sandbox hides the site's state directory and the homes, wherever
    they are (here outside /tmp, which every run gets a private one of anyway)."""
    import shutil
    import tempfile

    from cartable.core.db import Database
    from cartable.grading.exchange.service import App

    site = Path(tempfile.mkdtemp(prefix=".sandbox-test-", dir=ROOT))
    try:
        state, homes = site / "state", site / "homes"
        for d in (site, state, homes, homes / "eleve"):
            d.mkdir(exist_ok=True)
            d.chmod(0o755)
        for d in (state, homes / "eleve"):
            (d / "secret.txt").write_text("SECRET")
            (d / "secret.txt").chmod(0o644)
        app = App(Database(f"sqlite:///{tmp_path / 'db.sqlite'}"), tmp_path / "exchange",
                  hidden=(str(state), str(homes)))
        try:
            code = (f"import os\nfor p in [{str(state / 'secret.txt')!r}, {str(homes / 'eleve' / 'secret.txt')!r}]:\n"
                    "    try:\n        print('READ', open(p).read())\n    except OSError as e:\n"
                    "        print('READ', type(e).__name__)")
            ex = app.practice.forkserver().run([{"index": 0, "kind": "pupil", "source": code}], {}, {}, app.hidden)
        finally:
            app.practice.close()
        text = "".join(o.get("text", "") for c in ex.cells.values() for o in c["outputs"])
        assert text.split("\n")[:2] == ["READ FileNotFoundError"] * 2, text
    finally:
        shutil.rmtree(site)
