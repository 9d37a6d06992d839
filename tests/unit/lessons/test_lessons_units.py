"""Lessons without a hub: who sees which lesson, the served tree, the low-bandwidth page, the
kernel launcher's account, the hub layer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from cartable.extensions.lessons import lite
from cartable.extensions.lessons.library import Library, Refused, Viewer, parse_level, parse_stream

REPO = Path(__file__).resolve().parents[3]
GROUPS = {
    "class:DEMO:2BSM1": {"kind": "class", "school": "DEMO", "class": "2BSM1", "level": "2e année Bac",
                         "stream": "Sciences Mathématiques A"},
    "class:DEMO:2BPC1": {"kind": "class", "school": "DEMO", "class": "2BPC1", "level": "2e année Bac",
                         "stream": "Sciences Physiques"},
    "class:DEMO:1BSVT": {"kind": "class", "school": "DEMO", "class": "1BSVT", "level": "1re année Bac",
                         "stream": "Sciences de la Vie et de la Terre"},
    "course:demo-2026-2bsm1-maths": {"kind": "course", "school": "DEMO", "class": "2BSM1", "subject": "maths",
                                      "course": "demo-2026-2bsm1-maths"},
    "course:demo-2026-2bpc1-physique-chimie": {"kind": "course", "school": "DEMO", "class": "2BPC1",
                                                "subject": "physique-chimie",
                                                "course": "demo-2026-2bpc1-physique-chimie"},
}


def viewer(name, *groups, admin=False):
    return Viewer.from_hub({"name": name, "admin": admin, "groups": list(groups)}, GROUPS)


PUPIL_SM = viewer("p1", "role:pupil", "school:DEMO", "class:DEMO:2BSM1")
PUPIL_PC = viewer("p2", "role:pupil", "school:DEMO", "class:DEMO:2BPC1")
PUPIL_SVT1 = viewer("p3", "role:pupil", "school:DEMO", "class:DEMO:1BSVT")
MATHS = viewer("t1", "role:teacher", "school:DEMO", "course:demo-2026-2bsm1-maths")
PHYS = viewer("t2", "role:teacher", "school:DEMO", "course:demo-2026-2bpc1-physique-chimie")
DIRECTOR = viewer("d1", "role:director", "school:DEMO")
INSPECTOR = viewer("i1", "role:inspector", "school:DEMO", "inspect:DEMO:maths")
NOBODY = viewer("x1", "school:DEMO")


def test_levels_and_streams_from_the_roster():
    assert parse_level("2e année Bac", "2BSM1") == "2BAC"
    assert parse_level("1re année Bac") == "1BAC"
    assert parse_level("", "1BPC2") == "1BAC"
    assert parse_stream("Sciences Mathématiques A") == parse_stream("Sciences Mathématiques B") == "SM"
    assert parse_stream("Sciences Physiques") == "PC"
    assert parse_stream("", "2BPC1") == "PC"
    assert parse_stream("Sciences de la Vie et de la Terre") == "SVT"
    assert parse_stream("Lettres", "TCL") is None


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    lib = Library(tmp_path_factory.mktemp("lessons"))
    lib.sync_library()
    lib.load_published()
    return lib


def test_library_is_served_stamped_by_language(library):
    paths = {lesson.path: lesson for lesson in library.lessons()}
    assert "library/suites.ipynb" in paths and "library/suites.ar.ipynb" in paths
    assert len([p for p in paths if p.endswith(".ar.ipynb")]) >= 4
    for path, lesson in paths.items():
        nb = nbformat.read(library.file_of(lesson), as_version=4)
        want = "cartable-rtl" if path.endswith(".ar.ipynb") else "cartable"
        assert nb.metadata["voila"]["template"] == want == lesson.template
        assert nb.metadata["kernelspec"]["name"] == "cartable-lesson"
    # only notebooks are served: nothing else of courses/ lands in the tree
    assert {p.suffix for p in (library.site / "library").iterdir()} == {".ipynb"}


def test_who_sees_which_library_lesson(library):
    def seen(v):
        return {lesson.path for lesson in library.visible(v)}

    everything = {lesson.path for lesson in library.lessons()}
    maths = {lesson.path for lesson in library.lessons() if lesson.subject == "mathematiques"}
    assert seen(PUPIL_SM) == seen(PUPIL_PC) == everything  # every library lesson is for 2BAC SM and PC
    assert seen(PUPIL_SVT1) == set()  # another level and stream
    assert seen(MATHS) == maths and seen(PHYS) == everything - maths
    assert seen(DIRECTOR) == everything
    assert seen(INSPECTOR) == maths
    assert seen(NOBODY) == set()
    assert seen(viewer("root", admin=True)) == everything


def lesson_notebook(title="Ondes", body="print('bonjour')", lang=None):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_markdown_cell(f"# {title}\n\nTexte <script>alert(1)</script> <img src=x onerror=alert(2)>"),
                new_code_cell(body)]
    if lang:
        nb.metadata["cartable"] = {"lang": lang}
    return nbformat.writes(nb).encode()


def test_publish_replace_withdraw(library):
    classes, subject = library.resolve_classes(MATHS, ["2BSM1"], None)
    assert (classes, subject) == (["DEMO:2BSM1"], "mathematiques")
    nb, lang, title = library.prepare(lesson_notebook())
    assert (lang, title) == ("fr", "Ondes")
    source = nb.cells[0].source
    assert "<script" not in source and "onerror" not in source and "Texte" in source
    meta = library.publish(MATHS, "ondes", nb, lang, title, classes, subject)
    path = f"published/{meta['id']}.ipynb"
    lesson = library.get(path)
    assert lesson.visible_to(PUPIL_SM) and lesson.visible_to(MATHS) and lesson.visible_to(DIRECTOR)
    assert not lesson.visible_to(PUPIL_PC) and not lesson.visible_to(PHYS) and not lesson.visible_to(NOBODY)
    assert lesson.visible_to(INSPECTOR)  # maths in the inspector's school
    nb2, lang2, title2 = library.prepare(lesson_notebook(title="Ondes (2)"))
    meta = library.publish(MATHS, "ondes", nb2, lang2, title2, classes, subject)
    assert [v["version"] for v in meta["versions"]] == [1, 2]
    assert (library.store / meta["id"] / "v1.ipynb").is_file() and (library.store / meta["id"] / "v2.ipynb").is_file()
    assert library.get(path).title("fr") == "Ondes (2)" and library.get(path).version == 2
    with pytest.raises(Refused) as e:
        library.withdraw(PHYS, meta["id"])
    assert e.value.status == 403
    library.withdraw(MATHS, meta["id"])
    assert library.get(path) is None and not (library.site / path).exists()
    assert (library.store / meta["id"] / "v2.ipynb").is_file(), "versions are kept"
    library.load_published()
    assert library.get(path) is None


@pytest.mark.parametrize("who, classes, subject, status", [
    (PUPIL_SM, ["2BSM1"], None, 403),
    (PHYS, ["2BSM1"], None, 403),  # does not teach that class
    (PHYS, ["2BPC1"], "maths", 403),  # does not teach that subject there
    (MATHS, [], None, 400),
    (MATHS, ["DEMO:2BPC1"], None, 403),
])
def test_publishing_refusals(library, who, classes, subject, status):
    with pytest.raises(Refused) as e:
        library.resolve_classes(who, classes, subject)
    assert e.value.status == status


def test_arabic_publication_is_right_to_left(library):
    raw = lesson_notebook(title="الموجات", lang=None).replace(b"Texte", "نص عربي طويل يشرح الموجات الميكانيكية المتوالية".encode())
    nb, lang, _title = library.prepare(raw)
    assert lang == "ar" and nb.metadata["voila"]["template"] == "cartable-rtl"
    with pytest.raises(Refused):
        library.prepare(b"{not a notebook")


def test_lite_page_keeps_widget_state_and_runs_no_script(tmp_path):
    src = REPO / "courses" / "lessons" / "suites.ar.ipynb"
    built = lite.build(src, tmp_path, kernel_name="python3")
    page = built.path.read_text(encoding="utf-8")
    assert built.size < 100_000
    assert '<body dir="rtl" lang="ar">' in page
    state = json.loads(re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', page,
                                 re.S).group(1).replace("<\\/", "</"))["state"]
    sliders = {m: s["state"] for m, s in state.items() if s["model_name"] in ("FloatSliderModel", "IntSliderModel")}
    assert sliders
    for mid, s in sliders.items():
        drawn = re.search(rf'data-model="{mid}".*?value="([^"]+)"', page, re.S).group(1)
        assert float(drawn) == float(s["value"])
    assert "<img" in page and "data:image/png;base64," in page  # the plot of the interact, drawn
    assert "<script>" not in page and "<script " not in page.replace(
        '<script type="application/vnd.jupyter.widget-state+json">', "")
    assert "'none'" in lite.CSP and "script-src" not in lite.CSP
    again = lite.build(src, tmp_path, kernel_name="python3")
    assert again.cached and again.path == built.path


def test_kernel_launcher_drops_to_the_lessons_account(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to change account")
    import pwd

    from support.harness import outside_dir

    from cartable.hub.layers import LESSONS_KERNEL_ACCOUNT, _ensure_system_account

    account = _ensure_system_account(LESSONS_KERNEL_ACCOUNT)
    entry = pwd.getpwnam(account)
    tmp_path = outside_dir("lessons-kernel")  # pytest's own base is private to root
    runtime = tmp_path / "kernels"
    runtime.mkdir()
    os.chown(runtime, entry.pw_uid, entry.pw_gid)
    tmp_path.chmod(0o711)
    # the launcher execs ipykernel; give it a stand-in that reports who it is instead
    probe = tmp_path / "conn.json"
    probe.write_text("{}")
    os.chmod(probe, 0o600)
    code = (
        "import os, sys, runpy\n"
        "os.execv = lambda exe, argv: (print(os.getuid(), os.getgid(), os.getgroups(), argv[-1],"
        " open(argv[-1]).read(), os.environ.get('JUPYTERHUB_API_TOKEN')), sys.exit(0))\n"
        "sys.argv = ['kernel', '-f', sys.argv[1]]\n"
        "runpy.run_module('cartable.core.kernel_account', run_name='__main__')\n")
    env = dict(os.environ, CARTABLE_KERNEL_USER=account, CARTABLE_KERNEL_RUNTIME=str(runtime),
               JUPYTERHUB_API_TOKEN="secret-of-the-service")
    out = subprocess.run([sys.executable, "-c", code, str(probe)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    uid, gid, groups, copy, content, token = out.stdout.split(" ", 5)
    assert (int(uid), int(gid)) == (entry.pw_uid, entry.pw_gid) and groups == "[]"
    assert copy.startswith(str(runtime)) and content == "{}" and token.strip() == "None"


def test_lesson_kernelspec_starts_a_kernel_as_the_lessons_account(tmp_path, monkeypatch):
    """As root: a real kernel of the ``cartable-lesson`` kernelspec, with the environment the service
    sets up (cartable.core.kernel_account), runs as ``cartable-lesson``, without the token."""
    if os.geteuid() != 0:
        pytest.skip("needs root to change account")
    import pwd

    from support.harness import outside_dir, run_in_kernel

    from cartable.core import kernel_account as ka
    from cartable.extensions.lessons import SHARE
    from cartable.hub.layers import LESSONS_KERNEL_ACCOUNT, _ensure_system_account

    account = _ensure_system_account(LESSONS_KERNEL_ACCOUNT)
    for key in (ka.USER_ENV, ka.RUNTIME_ENV):
        monkeypatch.setenv(key, "")  # kernel_account sets them; removed after the test
    monkeypatch.setenv("JUPYTER_PATH", str(SHARE))
    runtime = ka.kernel_account(outside_dir("lessons-kernel") / "kernels", account)
    private = tmp_path / "service-runtime"
    private.mkdir(mode=0o700)
    printed, uid = run_in_kernel("cartable-lesson", "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name,"
                                 " os.environ.get('JUPYTERHUB_API_TOKEN'), os.environ['HOME'])",
                                 dict(os.environ, JUPYTERHUB_API_TOKEN="secret-of-the-service"), private)
    assert uid == pwd.getpwnam(account).pw_uid
    assert printed.split() == [account, "None", str(runtime)]


def test_layer_registers_the_service_with_its_roles(tmp_path):
    from cartable.core import config
    from cartable.hub import layers

    cfg = config.from_dict({"school": {"name": "Lycée Test", "code": "TST"},
                            "hub": {"state_dir": str(tmp_path / "state"), "port": 9000}}, tmp_path)
    c = Config()
    layers.exchange(c, cfg)
    layers.lessons(c, cfg)
    svc = next(s for s in c.JupyterHub.services if s["name"] == "cartable-lessons")
    assert svc["url"] == "http://127.0.0.1:9006" and svc["oauth_no_confirm"]
    assert svc["command"][1:3] == ["-m", "cartable.extensions.lessons.service"]
    assert ("--kernel-user" in svc["command"]) == (os.geteuid() == 0)
    assert svc["command"][svc["command"].index("--preheat") + 1] == "none"  # cartable.yaml's defaults
    assert svc["command"][svc["command"].index("--pool-size") + 1] == "4"
    cfg = config.from_dict({"school": {"name": "Lycée Test", "code": "TST"},
                            "hub": {"state_dir": str(tmp_path / "state"), "port": 9000},
                            "lessons": {"preheat": ["suites", "rc"], "pool_size": 2}}, tmp_path)
    c2 = Config()
    layers.lessons(c2, cfg)
    command = c2.JupyterHub.services[0]["command"]
    assert command[command.index("--preheat") + 1] == "suites,rc" and command[command.index("--pool-size") + 1] == "2"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["cartable-lessons-user"]["scopes"] == ["access:services!service=cartable-lessons"]
    assert "role:pupil" in roles["cartable-lessons-user"]["groups"]
    assert set(roles["cartable-lessons-service"]["scopes"]) == {"read:users", "list:groups", "read:groups"}
    assert "access:services!service=cartable-lessons" in c.Spawner.server_token_scopes
    assert c.Spawner.environment.get_value({})["CARTABLE_LESSONS_URL"] == "http://127.0.0.1:9000/services/cartable-lessons/"
    assert layers.lessons in layers.LAYERS


def test_a_lesson_that_fails_or_runs_forever_is_refused_with_its_cell(tmp_path):
    for body, ename in (("1/0", "ZeroDivisionError"), ("while True:\n    pass", "CellTimeoutError")):
        path = tmp_path / f"{ename}.ipynb"
        path.write_bytes(lesson_notebook(body=body))
        with pytest.raises(lite.ExecutionFailed) as e:
            lite.build(path, tmp_path / "out", kernel_name="python3", timeout=3)
        assert e.value.cell == 2 and e.value.ename == ename
        assert not list((tmp_path / "out").glob("*.html")) if (tmp_path / "out").exists() else True
