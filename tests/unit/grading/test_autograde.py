"""The grading engine against the attacks of threats.md §D, each with the exact score expected.

One small assignment (``mini``: three questions, 4 points) is generated with stock nbgrader;
every attack is one pupil's submission, all graded in one batch by the engine with short
limits, and each test reads its pupil's score from the gradebook. The honest submissions are
graded by stock ``nbgrader autograde`` as well: the scores must be identical.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nbformat
import pytest
from support.autograde_batch import HONEST, RIGHT, WRONG, make_course, mini_source, write_submission
from support.autograde_batch import cell_of as _cell
from support.autograde_batch import nbgrader_md as _md
from support.autograde_batch import set_answers as _answers

from cartable.grading.autograde import Autograder
from cartable.grading.sandbox import Limits, isolation_available

ROOT = Path(__file__).resolve().parents[3]


def _insert_after(nb, gid, source):
    i = nb.cells.index(_cell(nb, gid))
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(source))


def _tests(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


# --------------------------------------------------------------------------- the attacks
# name -> (edit of the released notebook, exact expected score)

def tamper_tests(nb):
    _answers(nb, WRONG)
    for c in _tests(nb):
        c.source = "pass"


def delete_tests(nb):
    _answers(nb, WRONG)
    for c in _tests(nb):
        nb.cells.remove(c)


def delete_tests_right(nb):
    _answers(nb, RIGHT)
    for c in _tests(nb):
        nb.cells.remove(c)


def raise_points(nb):
    _answers(nb, {"s1": RIGHT["s1"], "s2": WRONG["s2"], "s3": WRONG["s3"]})
    _cell(nb, "t1").metadata.nbgrader["points"] = 100


def markdown_tests(nb):
    _answers(nb, WRONG)
    for c in _tests(nb):
        c.cell_type = "markdown"
        c.pop("outputs", None)
        c.pop("execution_count", None)


def strip_metadata(nb):
    _answers(nb, WRONG)
    for c in _tests(nb):
        c.metadata.pop("nbgrader")
        c.source = "pass"


def forged_cell(nb):
    _answers(nb, WRONG)
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata.update(_md("forged", grade=True, locked=True, points=50))
    nb.cells.append(cell)
    dup = nbformat.v4.new_code_cell("pass")
    dup.metadata.update(_md("t1", grade=True, locked=True, points=1))
    nb.cells.append(dup)


def showtraceback(nb):
    _answers(nb, WRONG)
    _insert_after(nb, "imports", "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                                 "ip._showtraceback = lambda *a, **k: None\nip.set_custom_exc((BaseException,), "
                                 "lambda *a, **k: None)\nfrom IPython.core.interactiveshell import InteractiveShell\n"
                                 "InteractiveShell.showtraceback = lambda *a, **k: None")


def stderr_redirect(nb):
    _answers(nb, WRONG)
    _insert_after(nb, "imports", "import sys, io, os\nsys.stderr = io.StringIO()\nsys.stdout = io.StringIO()\n"
                                 "os.dup2(os.open(os.devnull, os.O_WRONLY), 2)")


ALWAYS_EQUAL = """class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __sub__(self, other): return self
    def __rsub__(self, other): return self
    def __abs__(self): return self
    def __bool__(self): return True
    def __array__(self, *a, **k):
        import numpy
        return numpy.array([0.0, 1.0, 4.0])
def double(x): return Anything(0)
r = Anything(0.5)
def carre(x): return Anything(0)
"""


def always_equal(nb):
    _answers(nb, {"s1": ALWAYS_EQUAL, "s2": "pass", "s3": "pass"})


def patched_helpers(nb):
    _answers(nb, WRONG)
    _insert_after(nb, "imports", "import math, numpy, numpy.testing, hashlib\nmath.isclose = lambda *a, **k: True\n"
                                 "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                                 "np.testing.assert_allclose = lambda *a, **k: None\n"
                                 "hashlib.sha1 = lambda *a, **k: None\n"
                                 "check.expect_close = lambda *a, **k: True\ncheck.numeric = lambda *a, **k: True\n"
                                 "import cartable.grading.check as c2\nc2._split = lambda *a, **k: 0.75")


def rebind_names(nb):
    _answers(nb, WRONG)
    _insert_after(nb, "s3", "class Fake:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\n"
                            "check = Fake()\nnp = Fake()\nmath = Fake()\n"
                            "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.type = lambda x: int\n"
                            "abs = lambda x: 0\ntype = lambda x: int\nAssertionError = None")


def patch_supervisor(nb):
    _answers(nb, WRONG)
    _insert_after(nb, "imports", "import threading, cartable.grading.runner as r\n"
                                 "r.Supervisor.run_compiled_cell = lambda *a, **k: (True, ('ok', None))\n"
                                 "r._strict_compare = lambda *a: True\nr._truth = lambda *a: True\n"
                                 "threading.Thread.join = lambda *a, **k: None\n"
                                 "check.CheckError.__init__ = lambda *a, **k: None")


def env_branch(nb):
    _answers(nb, {"s1": "import os\ndef double(x):\n    return 2 * x if os.environ.get('NBGRADER_EXECUTION') else x",
                  "s2": WRONG["s2"], "s3": WRONG["s3"]})


def frame_walk(nb):
    _answers(nb, {"s1": "import sys\ndef double(x):\n    sys._getframe(2).f_locals\n    return 2 * x",
                  "s2": RIGHT["s2"], "s3": RIGHT["s3"]})


def gc_walk(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "import gc\nfound = len(gc.get_objects())")


def infinite_loop_cell(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "while True:\n    pass")


def loop_in_answer(nb):
    _answers(nb, {"s1": RIGHT["s1"], "s2": RIGHT["s2"], "s3": "def carre(x):\n    while True:\n        pass"})


def unstoppable_loop(nb):
    _answers(nb, {"s1": RIGHT["s1"], "s2": RIGHT["s2"],
                  "s3": "def carre(x):\n    while True:\n        try:\n            while True:\n                pass\n"
                        "        except BaseException:\n            pass"})


def sleep_forever(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "import time\ntime.sleep(10 ** 6)")


def memory_bomb(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "def bomb():\n    hog = []\n    while True:\n        hog.append(bytearray(10 ** 7))\nbomb()")


def memory_bomb_in_answer(nb):
    _answers(nb, {"s1": "def double(x):\n    hog = []\n    while True:\n        hog.append(bytearray(10 ** 7))",
                  "s2": RIGHT["s2"], "s3": RIGHT["s3"]})


def fork_bomb(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "import os\nwhile True:\n    os.fork()")


def subprocess_call(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "import subprocess\nsubprocess.run(['id'])")


def huge_print(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "try:\n    print('x' * 10 ** 9)\nexcept MemoryError:\n    pass\n"
                                 "for _ in range(100000):\n    print('y' * 1000)")


def huge_file(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "with open('big.bin', 'wb') as f:\n    for _ in range(10000):\n"
                                 "        f.write(b'\\0' * 10 ** 6)")


def os_exit(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "s1", "import os\nos._exit(0)")


def big_output(nb):
    _answers(nb, RIGHT)
    cell = _cell(nb, "s1")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(os.urandom(37 * 1024 * 1024)).decode()})]


def socket_out(nb):
    _answers(nb, RIGHT)
    _insert_after(nb, "imports", "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', 5432))")


LEAK = """import os, json
leak = {}
for p in PATHS:
    try:
        with open(p, 'rb') as f:
            leak[p] = 'READ ' + f.read(40).hex()
    except Exception as e:
        leak[p] = type(e).__name__
try:
    leak['listdir'] = os.listdir(COURSE)
except Exception as e:
    leak['listdir'] = type(e).__name__
print('LEAK ' + json.dumps(leak))
"""


ATTACKS = {
    "tamper_tests": (tamper_tests, 0), "delete_tests": (delete_tests, 0), "delete_tests_right": (delete_tests_right, 4),
    "raise_points": (raise_points, 1), "tests_to_markdown": (markdown_tests, 0),
    "strip_metadata": (strip_metadata, 0), "forged_cell": (forged_cell, 0),
    "showtraceback": (showtraceback, 0), "stderr_redirect": (stderr_redirect, 0),
    "always_equal": (always_equal, 0), "patched_helpers": (patched_helpers, 0), "rebind_names": (rebind_names, 0),
    "env_branch": (env_branch, 0), "patch_supervisor": (patch_supervisor, 0), "frame_walk": (frame_walk, 3), "gc_walk": (gc_walk, 4),
    "infinite_loop_cell": (infinite_loop_cell, 4), "loop_in_answer": (loop_in_answer, 2),
    "unstoppable_loop": (unstoppable_loop, 2), "sleep_forever": (sleep_forever, 0),
    "memory_bomb": (memory_bomb, 4), "memory_bomb_in_answer": (memory_bomb_in_answer, 3),
    "fork_bomb": (fork_bomb, 4), "subprocess_call": (subprocess_call, 4), "huge_print": (huge_print, 4),
    "huge_file": (huge_file, 4), "os_exit": (os_exit, 0), "big_output": (big_output, 4),
    "socket_out": (socket_out, 4),
}
LIMITS = Limits(cell_seconds=3, notebook_seconds=90, memory_mb=512)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    work = tmp_path_factory.mktemp("grading")
    src = work / "lib" / "exercises" / "mini" / "mini.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(mini_source(), src)
    course = make_course(work / "course", [src], pupils=0, course_id="mini-course", assignment="mini")
    root = course["root"]
    released = nbformat.read(root / "release" / "mini" / "mini.ipynb", 4)

    def submit(name, nb_or_text):
        d = write_submission(root, "mini", name, lambda gid: False)
        target = d / "mini.ipynb"
        if isinstance(nb_or_text, str):
            target.write_text(nb_or_text)
        else:
            nbformat.write(nb_or_text, target)

    for name, (answers, _) in HONEST.items():
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        _answers(nb, answers)
        submit(name, nb)
    # the honest ones, graded by stock nbgrader first, in a copy of the course
    import shutil
    stock_root = work / "stock"
    shutil.copytree(root, stock_root)
    from nbgrader.apps import NbGraderAPI
    from support.autograde_batch import nbgrader_config
    api = NbGraderAPI(config=nbgrader_config(stock_root, "mini-course", None))
    stock = {}
    for name in HONEST:
        res = api.autograde("mini", name, force=True, create=True)
        assert res["success"], res["log"][-2000:]
    with api.gradebook as gb:
        for name in HONEST:
            stock[name] = gb.find_submission("mini", name).score

    for name, (edit, _) in ATTACKS.items():
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        edit(nb)
        submit(name, nb)
    leak = nbformat.from_dict(json.loads(json.dumps(released)))
    _answers(leak, RIGHT)
    paths = [str(root / "gradebook.db"), str(root / "source" / "mini" / "mini.ipynb"),
             str(root / "submitted" / "honest_right" / "mini" / "mini.ipynb"), "/proc/self/environ", "/proc/1/environ",
             "gradebook.db", "../gradebook.db"]
    _insert_after(leak, "imports", f"PATHS = {paths!r}\nCOURSE = {str(root)!r}\n" + LEAK)
    submit("exfiltrate", leak)
    submit("invalid_json", "{ceci n'est pas du JSON")
    submit("nbformat3", json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "x = 1", "outputs": [], "language": "python"}]}]}))

    with Autograder(root, "mini-course", limits=LIMITS, workers=2) as grader:
        results = {r.student: r for r in grader.grade("mini")}
    return {"root": root, "results": results, "stock": stock}


def score(graded, name):
    r = graded["results"][name]
    assert r.error is None, r.error
    return r.score


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_submissions_score_what_stock_nbgrader_gives(graded, name):
    assert score(graded, name) == graded["stock"][name] == HONEST[name][1]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_scores_exactly(graded, name):
    assert score(graded, name) == ATTACKS[name][1]


@pytest.mark.parametrize("name,flag", [
    ("tamper_tests", "changed cell t1"), ("delete_tests", "deleted cell t1"), ("raise_points", "changed points"),
    ("tests_to_markdown", "changed type"), ("forged_cell", "unknown graded or locked cell forged"),
    ("forged_cell", "duplicate cell t1"), ("gc_walk", "gc.get_objects"), ("fork_bomb", "os.fork"),
    ("subprocess_call", "subprocess.Popen"), ("frame_walk", "sys._getframe"), ("socket_out", "socket.connect"),
    ("patched_helpers", "restored math.isclose"), ("patch_supervisor", "restored class Supervisor"),
    ("patch_supervisor", "restored class Thread.join"),
])
def test_tampering_is_reported_to_the_teacher(graded, name, flag):
    tampering = graded["results"][name].tampering
    assert any(flag in t for t in tampering), tampering
    report = json.loads((graded["root"] / "autograded" / name / "mini" / ".cartable-grading.json").read_text())
    assert any(flag in t for n in report["notebooks"] for t in n["tampering"])


@pytest.mark.parametrize("name,words", [("invalid_json", "JSON"), ("nbformat3", "nbformat 3")])
def test_a_malformed_notebook_fails_alone_with_a_clear_message(graded, name, words):
    r = graded["results"][name]
    assert r.score == 0
    (nb,) = r.notebooks
    assert words in nb.error and " / " in nb.error  # French then English


def test_the_batch_goes_on_and_everyone_is_graded(graded):
    assert len(graded["results"]) == len(HONEST) + len(ATTACKS) + 3


def test_a_killed_kernel_scores_zero_with_a_reason(graded):
    root = graded["root"]
    nb = nbformat.read(root / "autograded" / "os_exit" / "mini" / "mini.ipynb", 4)
    outs = _cell(nb, "t1").outputs
    assert outs and outs[0].output_type == "error" and outs[0].ename == "NotExecuted"


def test_output_floods_are_truncated(graded):
    nb = nbformat.read(graded["root"] / "autograded" / "huge_print" / "mini" / "mini.ipynb", 4)
    text = json.dumps(nb)
    assert len(text) < 2 * 1024 * 1024 and "truncated" in text


def test_the_effective_cell_timeout_is_the_configured_one(graded):
    nb = nbformat.read(graded["root"] / "autograded" / "unstoppable_loop" / "mini" / "mini.ipynb", 4)
    (out,) = [o for o in _cell(nb, "t3").outputs if o.output_type == "error"]
    assert out.ename == "CellTimeout" and "3 s" in out.evalue


@pytest.mark.skipif(not isolation_available(), reason="isolation needs root")
def test_a_submission_reads_nothing_of_the_course_nor_the_environment(graded):
    nb = nbformat.read(graded["root"] / "autograded" / "exfiltrate" / "mini" / "mini.ipynb", 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    line = next(line for line in printed.splitlines() if line.startswith("LEAK "))
    leak = json.loads(line[5:])
    assert not any(str(v).startswith("READ") for v in leak.values()), leak
    assert leak["listdir"] == [] or leak["listdir"] in ("PermissionError", "FileNotFoundError"), leak
    assert graded["results"]["exfiltrate"].score == 4
    assert graded["results"]["exfiltrate"].sandbox["isolated"] is True


def test_the_sandbox_report_says_what_was_applied(graded):
    sb = graded["results"]["honest_right"].sandbox
    assert "cpu=60s" in sb["applied"] and "memory=512MB" in sb["applied"]
    if isolation_available():
        assert {"account", "network", "hidden-paths"} <= set(sb["applied"]) and not sb["missing"]
    else:
        assert "account" in sb["missing"]
