"""cartable.yaml: validation messages (file, line, key, why, in French and English) and defaults."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from cartable.core import config

GOOD = """\
school:
  name: Lycée Ibn Khaldoun
  code: LYC-01
"""


def write(tmp_path, text):
    p = tmp_path / "cartable.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems(tmp_path, text):
    with pytest.raises(config.ConfigError) as e:
        config.load(write(tmp_path, text))
    return e.value


def test_minimal_file_gets_every_default(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg["school"]["language"] == "fr"
    assert cfg["school"]["timezone"] == "Africa/Casablanca"
    assert cfg["hub"]["port"] == 8000
    assert cfg["auth"]["method"] == "local"
    assert cfg["auth"]["local"]["max_failures"] == 5
    assert cfg.state_dir == (tmp_path / ".cartable").resolve()
    assert cfg.database_url() == f"sqlite:///{tmp_path.resolve()}/.cartable/cartable.sqlite"
    assert cfg.database_url("jupyterhub").endswith("/.cartable/jupyterhub.sqlite")
    assert cfg.homes_dir == (Path("/home/cartable") if os.geteuid() == 0 else cfg.state_dir.with_name(".cartable-homes"))


def test_shared_postgresql_url(tmp_path):
    cfg = config.load(write(tmp_path, GOOD + "hub:\n  database_url: postgresql://cartable@db/cartable\n"))
    assert cfg.database_url("cartable") == cfg.database_url("jupyterhub") == "postgresql://cartable@db/cartable"


def test_each_problem_names_file_line_key_and_reason_in_both_languages(tmp_path):
    err = problems(tmp_path, """\
        school:
          name: Lycée
          code: "bad code"
          language: de
        hub:
          port: 99999
          colour: red
        """)
    text = str(err)
    path = str(tmp_path / "cartable.yaml")
    assert f"{path}:3: school.code:" in text
    assert f"{path}:4: school.language:" in text
    assert f"{path}:6: hub.port:" in text
    assert f"{path}:7: hub.colour:" in text
    assert "The configuration file is not valid" in text
    assert "Le fichier de configuration n'est pas valide" in text
    assert "choose one of: fr, ar, en" in text
    assert "choisissez parmi : fr, ar, en" in text
    assert len(err.problems) == 4


def test_missing_required_key(tmp_path):
    err = problems(tmp_path, "school:\n  name: X\n")
    assert [p.key for p in err.problems] == ["school.code"]
    assert err.problems[0].line == 1


def test_wrong_type_and_unknown_timezone(tmp_path):
    err = problems(tmp_path, GOOD + "spawner:\n  start_timeout: soon\n")
    assert err.problems[0].key == "spawner.start_timeout"
    assert "integer" in str(err)
    err = problems(tmp_path, GOOD + "  timezone: Mars/Olympus\n")
    assert err.problems[0].key == "school.timezone"
    assert err.problems[0].line == 4


def test_bad_yaml_and_missing_file(tmp_path):
    err = problems(tmp_path, "school:\n  name: [unclosed\n")
    assert err.problems[0].line is not None
    assert "YAML" in str(err)
    with pytest.raises(config.ConfigError) as e:
        config.load(tmp_path / "absent.yaml")
    assert "does not exist" in str(e.value) and "n'existe pas" in str(e.value)


def test_database_url_must_be_sqlite_or_postgresql(tmp_path):
    err = problems(tmp_path, GOOD + "hub:\n  database_url: mysql://x@y/z\n")
    assert err.problems[0].key == "hub.database_url"


def test_oidc_needs_client_and_endpoints(tmp_path):
    err = problems(tmp_path, GOOD + "auth:\n  method: oidc\n")
    keys = {p.key for p in err.problems}
    assert keys == {"auth.oidc.client_id", "auth.oidc.client_secret", "auth.oidc.issuer"}


def test_config_set_refuses_bad_values_and_keeps_the_file(tmp_path):
    from click.testing import CliRunner

    from cartable.cli import main

    path = write(tmp_path, GOOD)
    runner = CliRunner()
    r = runner.invoke(main, ["-c", str(path), "config", "set", "spawner.mem_limit", "lots"])
    assert r.exit_code == 2
    assert "spawner.mem_limit" in r.output
    assert path.read_text(encoding="utf-8") == GOOD
    r = runner.invoke(main, ["-c", str(path), "config", "set", "spawner.mem_limit", "512M"])
    assert r.exit_code == 0, r.output
    assert config.load(path)["spawner"]["mem_limit"] == "512M"


def test_lessons_pool_settings_are_checked(tmp_path):
    from cartable.core import config

    base = {"school": {"name": "Lycée Test", "code": "TST"}}
    assert config.from_dict(base, tmp_path)["lessons"] == {"pool_size": 4, "preheat": []}
    for bad, key in (({"pool_size": -1}, "lessons.pool_size"), ({"pool_size": "beaucoup"}, "lessons.pool_size"),
                     ({"preheat": "all"}, "lessons.preheat"), ({"preheat": ["../etc"]}, "lessons.preheat.0"),
                     ({"kernels": 3}, "lessons.kernels")):
        with pytest.raises(config.ConfigError) as e:
            config.from_dict({**base, "lessons": bad}, tmp_path)
        assert key in {p.key for p in e.value.problems}, (bad, [p.key for p in e.value.problems])
