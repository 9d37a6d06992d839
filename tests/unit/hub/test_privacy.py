"""What pupils could read of the site: the hub's refusal list (cartable.hub.privacy), no hub."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.site import site_config
from traitlets.config import Config

from cartable.core import config
from cartable.hub import layers, privacy


def site(tmp_path, **spawner):
    return site_config(tmp_path, spawner={"homes_dir": str(tmp_path / "homes"), **spawner})


def made_by_the_hub(tmp_path):
    """A site as the hub and the ``cartable`` command leave it: layers, secrets, a roster, slips."""
    cfg = site(tmp_path)
    path = tmp_path / "cartable.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"school": {"name": "Lycée Test", "code": "TST"},
                                    "hub": {"state_dir": str(cfg.state_dir)},
                                    "spawner": {"homes_dir": str(cfg.homes_dir)}}))
    exe = Path(sys.executable).with_name("cartable")
    roster = Path(__file__).resolve().parents[3] / "courses" / "demo" / "roster.csv"
    # the command as an administrator runs it, from a shell whose umask lets everyone read
    r = subprocess.run(["sh", "-c", f"umask 022 && {exe} -c {path} demo setup {roster}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    old = os.umask(0o022)
    try:
        privacy.private_umask()
        c = Config()
        for layer in (layers.state, layers.proxy, layers.services, layers.exchange):
            layer(c, cfg)
    finally:
        os.umask(old)
    return cfg


def test_a_site_made_by_the_hub_and_the_command_exposes_nothing(tmp_path):
    cfg = made_by_the_hub(tmp_path)
    assert (cfg.state_dir / "cartable.sqlite").exists() and (cfg.state_dir / "demo" / "credentials.csv").exists()
    assert (cfg.state_dir / "secrets" / "cookie_secret").exists()
    assert privacy.state_exposures(cfg) == [] and privacy.homes_exposures(cfg) == []
    # the servers' configuration is meant to be read by every server
    assert oct((cfg.state_dir / "server-config" / "pupil").stat().st_mode & 0o777) == "0o755"


def test_each_readable_file_is_named_with_its_fix(tmp_path):
    cfg = made_by_the_hub(tmp_path)
    (cfg.state_dir / "cartable.sqlite").chmod(0o644)
    (cfg.state_dir / "secrets" / "sync_token").chmod(0o640)
    (cfg.state_dir / "demo").chmod(0o755)
    (cfg.state_dir / "lessons").mkdir(mode=0o711)  # traversable by the lessons' kernel account: allowed
    found = {e.path.name: e for e in privacy.state_exposures(cfg)}
    assert set(found) == {"cartable.sqlite", "sync_token", "demo"}
    assert found["cartable.sqlite"].fix == f"chmod 600 {cfg.state_dir / 'cartable.sqlite'}"
    assert found["demo"].fix == f"chmod -R go-rwx {cfg.state_dir / 'demo'}"
    text = privacy.refusal(list(found.values()))
    assert "Cartable ne démarre pas" in text and "Cartable will not start" in text and "0644" in text


def test_homes_beside_the_state_are_refused(tmp_path):
    with pytest.raises(config.ConfigError) as e:
        site(tmp_path, homes_dir="homes")  # relative to the state directory: inside it
    assert "spawner.homes_dir" in str(e.value)
    cfg = site(tmp_path)
    legacy = cfg.state_dir / "homes" / "j130012345"
    legacy.mkdir(parents=True)
    (legacy / "devoir.ipynb").write_text("{}")
    (found,) = privacy.homes_exposures(cfg)
    assert found.path == cfg.state_dir / "homes" and f"mv {cfg.state_dir / 'homes'}/* {cfg.homes_dir}/" in found.fix


def test_the_library_and_the_checkouts_private_parts_must_be_private(tmp_path):
    checkout = tmp_path / "checkout"
    for name in ("courses", "tests", ".git"):
        (checkout / name).mkdir(parents=True, mode=0o755)
        (checkout / name).chmod(0o755)
    elsewhere = tmp_path / "library"
    elsewhere.mkdir()
    elsewhere.chmod(0o750)
    found = privacy.library_exposures(elsewhere, checkout=checkout)
    assert {e.path for e in found} == {checkout / "courses", checkout / "tests", checkout / ".git", elsewhere}
    assert all("make install" in e.fix for e in found)
    for path in (*checkout.iterdir(), elsewhere):
        path.chmod(0o700)
    assert privacy.library_exposures(elsewhere, checkout=checkout) == []
