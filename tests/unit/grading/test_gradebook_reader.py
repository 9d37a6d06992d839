"""The gradebook URL of a course folder, read from its ``nbgrader_config.py`` without running it
(the folder belongs to a teacher; the dashboards service reading it runs as root)."""

from __future__ import annotations

import logging
import os

import pytest

from cartable.grading.courses import course_gradebook_url, gradebook_url, write_course_config

PG = "postgresql://grades:S3cret-pw@db.example.org:5432/lyc1_grades"
HEADER = "c = get_config()  # noqa: F821\n"


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "home" / "cartable" / "lyc1-2026-a-maths"
    d.mkdir(parents=True)
    return d


def config(folder, text):
    (folder / "nbgrader_config.py").write_text(text, encoding="utf-8")


def sqlite_default(folder):
    return gradebook_url(folder)


def test_literal_urls_are_read(folder):
    assert course_gradebook_url(folder) == sqlite_default(folder)  # no config: SQLite in the folder
    write_course_config(folder, "lyc1-2026-a-maths", PG)  # as `cartable course init --gradebook` writes it
    assert course_gradebook_url(folder) == PG
    write_course_config(folder, "lyc1-2026-a-maths")
    assert course_gradebook_url(folder) == f"sqlite:///{folder.resolve() / 'gradebook.db'}"
    inside = folder / "grades" / "book.db"
    for url in (f"sqlite:///{inside}", "postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db",
                "postgresql://u@h/db?sslmode=require"):
        config(folder, f"{HEADER}c.CourseDirectory.db_url = {url!r}\nc.CourseDirectory.course_id = 'x'\n")
        assert course_gradebook_url(folder) == url
    # the last literal counts, as it would in Python
    config(folder, f"{HEADER}c.CourseDirectory.db_url = 'postgresql://u@h/a'\nc.CourseDirectory.db_url = {PG!r}\n")
    assert course_gradebook_url(folder) == PG


def test_code_in_the_config_is_never_run(folder, tmp_path, caplog):
    marker = tmp_path / "ran"
    m = str(marker)
    # the file Cartable writes, plus code: the code is ignored, the literal read
    write_course_config(folder, "lyc1-2026-a-maths", PG)
    with (folder / "nbgrader_config.py").open("a") as f:
        f.write(f"import os\nos.system('touch {m}')\nopen({m!r}, 'w').close()\n")
    assert course_gradebook_url(folder) == PG
    assert not marker.exists()
    # the URL computed by code: not run, SQLite in the folder, the reason logged
    computed = [
        f"import os\nos.system('touch {m}')\nc.CourseDirectory.db_url = os.environ.get('X', {PG!r})\n",
        f"def url():\n    open({m!r}, 'w').close()\n    return {PG!r}\nc.CourseDirectory.db_url = url()\n",
        f"c.CourseDirectory.db_url = f\"postgresql://{{__import__('os').system('touch {m}')}}@h/db\"\n",
        f"if not __import__('os').system('touch {m}'):\n    c.CourseDirectory.db_url = {PG!r}\n",
        f"setattr(c.CourseDirectory, 'db_url', __import__('os').system('touch {m}') or {PG!r})\n",
        f"c.CourseDirectory.update(db_url=open({m!r}, 'w').name)\n",
        f"c.CourseDirectory.db_url = {PG!r}\nc.CourseDirectory['db_url'] = open({m!r}, 'w').name\n",
        f"c.CourseDirectory.db_url = {PG!r}\nthis is not python (\n",
        "c.CourseDirectory.db_url = b'postgresql://u@h/db'\n",
    ]
    for text in computed:
        caplog.clear()
        config(folder, HEADER + text)
        with caplog.at_level(logging.WARNING, logger="cartable.courses"):
            assert course_gradebook_url(folder) == sqlite_default(folder), text
        assert not marker.exists(), text
        assert "gradebook in the course folder" in caplog.text, text
        assert "S3cret-pw" not in caplog.text


def test_sqlite_outside_the_folder_is_refused(folder, tmp_path, caplog):
    outside = tmp_path / "other" / "gradebook.db"
    outside.parent.mkdir()
    outside.touch()
    refused = [f"sqlite:///{outside}", f"sqlite:///{folder}/../../../other/gradebook.db", "sqlite:///gradebook.db",
               "sqlite://", f"sqlite:///file:{outside}?mode=ro&uri=true", f"sqlite:///{folder}/gradebook.db?mode=rwc",
               f"sqlite:///{folder}/x%3Fy.db", "mysql://u@h/db", "postgresql://u:S3cret-pw@h/db?passfile=/root/.pgpass",
               "postgresql://u:S3cret-pw@/db?host=/var/run/postgresql", "not a url"]
    for url in refused:
        caplog.clear()
        config(folder, f"{HEADER}c.CourseDirectory.db_url = {url!r}\n")
        with caplog.at_level(logging.WARNING, logger="cartable.courses"):
            assert course_gradebook_url(folder) == sqlite_default(folder), url
        assert "refused" in caplog.text, url
        assert "S3cret-pw" not in caplog.text
    with pytest.raises(ValueError):  # `cartable course init --gradebook` refuses it at once
        write_course_config(folder, "lyc1-2026-a-maths", f"sqlite:///{outside}")
    with pytest.raises(ValueError) as e:
        write_course_config(folder, "lyc1-2026-a-maths", "postgresql://u:S3cret-pw@h/db?sslkey=/root/k")
    assert "S3cret-pw" not in str(e.value) and "***" in str(e.value)


def test_symbolic_links_out_of_the_folder_are_refused(folder, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "gradebook.db").touch()
    os.symlink(outside / "gradebook.db", folder / "linked.db")
    os.symlink(outside, folder / "sub")
    (folder / "real.db").touch()
    os.symlink(folder / "real.db", folder / "inside.db")
    for name, read in (("linked.db", False), ("sub/gradebook.db", False), ("inside.db", True)):
        url = f"sqlite:///{folder / name}"
        config(folder, f"{HEADER}c.CourseDirectory.db_url = {url!r}\n")
        assert course_gradebook_url(folder) == (url if read else sqlite_default(folder)), name
    # a link whose resolved name differs from the one a URL would give back (``%3F`` → ``?``)
    (folder / "x%3F.db").touch()
    config(folder, f"{HEADER}c.CourseDirectory.db_url = 'sqlite:///{folder}/x%253F.db'\n")
    assert course_gradebook_url(folder) == sqlite_default(folder)
    # the config itself as a link (to a file the teacher could not read) is not opened
    secret = outside / "nbgrader_config.py"
    secret.write_text(f"{HEADER}c.CourseDirectory.db_url = {PG!r}\n")
    (folder / "nbgrader_config.py").unlink()
    os.symlink(secret, folder / "nbgrader_config.py")
    assert course_gradebook_url(folder) == sqlite_default(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the folder's config to another account needs root")
def test_autograder_never_runs_another_accounts_course_config(folder, tmp_path, caplog):
    """A Celery worker or a service grading a teacher's folder does not run the teacher's file."""
    from cartable.grading.autograde import Autograder

    marker = tmp_path / "ran"
    config(folder, f"{HEADER}import pathlib; pathlib.Path({str(marker)!r}).write_text('x')\n"
                   "c.Execute.timeout = 7\n")
    os.chown(folder / "nbgrader_config.py", 65534, 65534)  # nobody's: the teacher's, not ours
    with caplog.at_level(logging.WARNING, logger="cartable.grading"):
        grader = Autograder(folder, "lyc1-2026-a-maths")
    assert not marker.exists()
    assert "Execute" not in grader._config or grader._config.Execute.get("timeout") != 7
    assert grader._config.CourseDirectory.db_url == sqlite_default(folder)
    assert "belongs to another account" in caplog.text
    os.chown(folder / "nbgrader_config.py", os.geteuid(), os.getegid())  # the owner's own command runs it
    assert Autograder(folder, "lyc1-2026-a-maths")._config.Execute.timeout == 7
    assert marker.exists()
