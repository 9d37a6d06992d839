"""The panel's front end without a browser: its unit tests (Node's test runner on the
TypeScript model: states, countdowns, dates in the school's time zone, direction) and its
catalogues (every ``trans.__`` string of the sources translated in French and Arabic,
placeholders kept, the JSON JupyterLab reads up to date with the ``.po`` sources)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cartable.extensions.panel import catalogues

LAB = Path(catalogues.__file__).resolve().parent.parent / "lab"


def test_front_end_unit_tests():
    if not (LAB / "node_modules" / "typescript").is_dir():
        pytest.fail("extensions/lab/node_modules is missing: run `make install`")
    r = subprocess.run([shutil.which("npm") or "npm", "test"], cwd=LAB, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout and "# pass 18" in r.stdout, r.stdout[-2000:]


def test_sources_use_the_catalogue_strings():
    found = catalogues.source_messages()
    assert "My schoolbag" in found and "Due %1 (%2)" in found
    # the panel writes text nodes only: nothing from the server is parsed as HTML
    for ts in (LAB / "src").glob("*.ts"):
        text = ts.read_text(encoding="utf-8")
        assert "innerHTML" not in text, f"{ts.name}: text only, never HTML"


@pytest.mark.parametrize("locale", catalogues.REQUIRED)
def test_every_string_is_translated(locale):
    assert catalogues.missing(locale) == []
    assert catalogues.placeholder_errors(locale) == []


def test_json_catalogues_are_those_of_the_po_files():
    for locale in catalogues.LOCALES:
        path = catalogues.po_path(locale).with_suffix(".json")
        assert json.loads(path.read_text(encoding="utf-8")) == catalogues.jed(locale), f"{path}: run make install"


def test_jupyterlab_finds_the_catalogues():
    from jupyterlab_server.translation_utils import get_language_pack

    fr, _ = get_language_pack("fr_FR")
    ar, _ = get_language_pack("ar_SA")
    assert fr["cartable_lab"]["My schoolbag"] == ["Mon cartable"]
    assert ar["cartable_lab"]["My schoolbag"] == ["محفظتي"]
    assert ar["cartable_lab"][""]["domain"] == "cartable_lab"


def test_the_built_extension_is_installed_in_the_venv():
    from jupyter_core.paths import jupyter_path

    found = [Path(d) / "@cartable" / "lab" for d in jupyter_path("labextensions")
             if (Path(d) / "@cartable" / "lab" / "package.json").is_file()]
    assert found, "run `make install`"
    assert found[0].resolve() == (LAB.parent / "panel" / "labextension").resolve()
    built = json.loads((found[0] / "package.json").read_text())
    assert built["name"] == "@cartable/lab" and built["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert (found[0] / built["jupyterlab"]["_build"]["load"]).is_file()


def test_the_schools_clock_changes_come_from_the_server():
    """What the panel formats dates with (browsers' time zone data may be out of date)."""
    import datetime as dt

    from cartable.extensions.panel.zone import zone_rules

    def offset(rules, when):
        ms = dt.datetime.fromisoformat(when).timestamp() * 1000
        return [m for start, m in rules["offsets"] if start <= ms][-1]

    casablanca = zone_rules("Africa/Casablanca")
    assert offset(casablanca, "2026-11-27T17:00:00+00:00") == 60  # UTC+1 since 2018
    assert offset(casablanca, "2026-03-01T12:00:00+00:00") == 0  # Ramadan 2026
    assert offset(casablanca, "2017-12-01T12:00:00+00:00") == 0  # before the 2018 change
    paris = zone_rules("Europe/Paris")
    assert offset(paris, "2026-03-29T00:59:00+00:00") == 60 and offset(paris, "2026-03-29T01:00:00+00:00") == 120
    assert zone_rules("Africa/Djibouti")["offsets"] == [[946684800000, 180]]
    assert zone_rules("Nowhere/Atlantis") == {"name": "Nowhere/Atlantis", "offsets": []}
