"""A validated site configuration for tests that need no hub: ``site_config(tmp_path, **sections)``
(also the root fixture ``site_config``, bound to the test's ``tmp_path``)."""

from __future__ import annotations

from pathlib import Path

from cartable.core import config


def site_config(tmp_path: Path, **sections) -> config.SiteConfig:
    """The configuration of a school ``TST`` whose state is in ``tmp_path/state``; each keyword is a
    section of ``cartable.yaml`` whose keys replace or add to the defaults'."""
    data = {"school": {"name": "Lycée Test", "code": "TST"}, "hub": {"state_dir": str(tmp_path / "state")}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return config.from_dict(data, tmp_path)
