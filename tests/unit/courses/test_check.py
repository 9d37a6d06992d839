"""The pupil-side helper ``cartable.grading.check``."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import nbformat
import pytest
from babel.messages.pofile import read_po

from cartable.grading import check

ROOT = Path(__file__).resolve().parents[3]
ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture(autouse=True)
def french():
    check.set_language("fr")
    yield
    check.set_language("fr")


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(check.CheckError) as info:
        fn(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("value, unit, to, expected", [
    (20, "ms", "s", 0.02), (36, "km/h", "m/s", 10), (4.7, "µF", "F", 4.7e-6),
    (4.7, "uF", "F", 4.7e-6), (2, "kΩ", "ohm", 2000), (2, "mmol/L/min", "mol.L-1.s-1", 2e-3 / 60),
    (9.8, "m/s²", "m.s-2", 9.8), (1, "j", "h", 24), (4, "cm2", "m^2", 4e-4), (1, "an-1", "s-1",
                                                                               1 / 31557600),
])
def test_units_convert(value, unit, to, expected):
    assert check.convert(value, unit, to) == pytest.approx(expected)


def test_numeric_form_checks_speak_french_and_arabic():
    assert check.numeric((20, "ms"), unit="s", positive=True, name="τ")
    assert check.numeric(0.75)
    assert "durée" in fails(check.numeric, (20, "kg"), unit="s", name="τ")
    assert "unité" in fails(check.numeric, 20, unit="s", name="τ")
    assert "inconnue" in fails(check.numeric, (2, "parsec-ish"), unit="m")
    assert "nombre" in fails(check.numeric, "0.75", name="u1")
    assert "nombre" in fails(check.numeric, True, name="u1")
    assert "positif" in fails(check.numeric, -1.0, positive=True)
    assert "entier" in fails(check.numeric, 2.5, integer=True)
    assert "compris entre" in fails(check.numeric, 1.2, between=(0, 1))
    check.set_language("ar")
    msg = fails(check.numeric, (20, "kg"), unit="s", name="τ")
    assert ARABIC.search(msg) and "مدة" in msg


def test_exact_checks_never_reveal_the_expected_value():
    assert check.expect_close((20, "ms"), 0.02, unit="s")
    assert check.expect_close(0.0123456, 0.0123456, rel=1e-6)
    assert fails(check.expect_close, 0.5, 0.0123456, name="x") == \
        "La valeur de « x » n'est pas correcte."
    assert fails(check.expect_close, (5, "ms"), 0.0123456, unit="s", name="x") == \
        "La valeur de « x » n'est pas correcte."
    assert fails(check.expect_choice, "a", "c", name="q") == \
        "La réponse à « q » n'est pas correcte."
    assert check.expect_choice(" B ", "b") and check.expect_choice("db", "bd")


def test_choice_and_function_checks():
    assert check.choice("b", "abcd")
    assert "a, b, c, d" in fails(check.choice, "e", "abcd")
    assert "une seule" in fails(check.choice, "ab", "abcd")
    assert check.choice("ab", "abcd", multiple=True)

    def not_written(n):
        raise NotImplementedError()
    assert "pas encore" in fails(check.function, not_written, args=(1,))
    assert "ZeroDivisionError" in fails(check.function, lambda x: 1 / x, args=(0,))
    assert "liste" in fails(check.function, lambda n: 3.0, args=(1,), returns=list)
    assert check.function(lambda n: [0.0] * n, args=(2,), returns=list)


def test_public_api_takes_no_expected_value():
    """The checks a pupil's test cell calls have no parameter for an expected answer."""
    for fn in (check.numeric, check.choice, check.function, check.self_check):
        params = set(inspect.signature(fn).parameters)
        assert not params & {"expected", "answer_key", "solution", "value"}, fn.__name__


def _notebook(tmp_path, hidden_body):
    nb = nbformat.v4.new_notebook()
    test = nbformat.v4.new_code_cell(
        "check.numeric(x, unit='s', name='x')\n### BEGIN HIDDEN TESTS\n"
        + hidden_body + "\n### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t-x",
                                 "points": 1, "locked": True, "schema_version": 3}
    test2 = nbformat.v4.new_code_cell("check.choice(rep, 'abcd', name='rep')")
    test2.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t-rep",
                                  "points": 1, "locked": True, "schema_version": 3}
    nb.cells = [test, test2]
    path = tmp_path / "devoir.ipynb"
    nbformat.write(nb, path)
    return path


def test_self_check_runs_public_checks_only(tmp_path, capsys):
    secret = "raise AssertionError('SECRET 0.0424242')\nprint('SECRET 0.0424242')"
    path = _notebook(tmp_path, secret)
    ns = {"check": check, "x": (42, "ms")}
    assert check.self_check(path, namespace=ns) == (1, 2)  # rep not answered yet
    shown = capsys.readouterr().out
    assert "SECRET" not in shown and "0.0424242" not in shown
    assert "t-x" in shown and "t-rep" in shown and "rep" in shown
    assert "tests cachés" in shown.lower() or "Des tests cachés" in shown
    ns["x"] = (42, "kg")
    ns["rep"] = "b"
    check.set_language("ar")
    assert check.self_check(path, namespace=ns) == (1, 2)
    shown = capsys.readouterr().out
    assert ARABIC.search(shown) and "SECRET" not in shown


def test_self_check_without_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert check.self_check(namespace={}) is None
    assert "self_check(" in capsys.readouterr().out


def _msgids(path):
    ids = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "_t") and node.args
                and isinstance(node.args[0], ast.Constant)):
            ids.add(node.args[0].value)
    return ids


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_every_message_is_translated(lang):
    ids = _msgids(ROOT / "grading" / "check.py") | _msgids(ROOT / "cartable" / "core" / "catalogue.py")
    with open(ROOT / "cartable" / "locale" / lang / "LC_MESSAGES" / "courses.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert ids - translated == set()
    for m in catalog:
        if m.id:  # placeholders survive translation
            assert set(re.findall(r"{\w+}", m.id)) == set(re.findall(r"{\w+}", m.string)), m.id
            if lang == "ar":
                assert ARABIC.search(m.string), m.id
