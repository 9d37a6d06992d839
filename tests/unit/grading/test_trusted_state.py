"""The grading child's trusted state: only dicts whose version moved are compared, and every
change a pupil makes to a library is still found and put back. Run in a fresh interpreter, as
in the fork server, so that the test process's own modules are left alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, math, sys
    from cartable.grading import check, runner

    state = runner.TrustedState()
    out = {"views": state._views is not None, "clean": state.restore()}
    genuine_isclose, genuine_numeric = math.isclose, check.numeric
    math.isclose = lambda *a, **k: True           # a pupil's patch through the module
    vars(check)["numeric"] = lambda *a, **k: None  # and through its dict
    math.TAU_BIS = 1.0                            # data, not code: left alone
    sys.modules["json"] = math                    # a swapped module
    out["changed"] = sorted(state.restore())
    out["restored"] = (math.isclose is genuine_isclose and check.numeric is genuine_numeric
                       and sys.modules["json"] is json)
    out["again"] = state.restore()
    sys.modules = dict(sys.modules)               # sys.modules itself replaced
    sys.modules["math"] = json
    out["replaced"] = state.restore()
    print(json.dumps(out))
""")


def test_restore_finds_every_patch_and_only_checks_what_moved():
    import json

    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if sys.implementation.name == "cpython" and sys.version_info[:2] <= (3, 13):
        assert out["views"] is True
    assert out["clean"] == []
    assert out["changed"] == ["cartable.grading.check.numeric", "math.isclose", "sys.modules['json']"]
    assert out["restored"] is True
    assert out["again"] == []
    assert out["replaced"] == ["sys.modules['math']"]
