"""Pupil-side checks for Cartable exercise sets (``cartable.grading.check``).

Exercise notebooks call this module in their test cells. It runs in the pupil's kernel, so
nothing in it, and nothing a pupil can see, holds an expected answer:

* **public checks** (``numeric``, ``choice``, ``function``) look at the *form* of an answer only:
  its type, its unit (the dimension is checked, any compatible unit is accepted: ``ms`` for a
  time, ``km/h`` for a speed …), its sign or a wide plausible range. They go in the visible part
  of an nbgrader test cell and give the pupil feedback before submitting;
* **exact checks** (``expect_close``, ``expect_choice``) compare with the expected value. They
  are written only between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, so the
  expected value lives in the instructor's notebook and the gradebook, never in the released
  notebook. Their failure message never repeats the expected value;
* ``self_check()`` re-runs the public part of every test cell of the current notebook against
  the pupil's variables and prints a short report. Hidden tests are never run nor shown, even
  when this is called on an instructor's notebook.

Every message goes through gettext (catalogue ``courses.po``); French by default,
``set_language("ar")`` for Arabic notebooks.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import os
import re
import sys
from fractions import Fraction
from pathlib import Path

from cartable.core.i18n import _, direction, gettext_for, normalize

__all__ = [
    "CheckError",
    "set_language",
    "numeric",
    "choice",
    "function",
    "expect_close",
    "expect_choice",
    "convert",
    "self_check",
]

_state = {"lang": "fr"}


class CheckError(AssertionError):
    """A failed check; the message is already translated and safe to show the pupil."""


def set_language(lang: str) -> None:
    """Language of the messages: ``fr`` (default), ``ar`` or ``en``."""
    _state["lang"] = normalize(lang)


def _t(msgid: str, **kwargs) -> str:
    text = gettext_for(_state["lang"])(msgid)
    return text.format(**kwargs) if kwargs else text


def _fail(msgid: str, **kwargs):
    raise CheckError(_t(msgid, **kwargs))


def _label(name: str) -> str:
    if not name:
        return _t("this question")
    return f"«{name}»" if _state["lang"] == "ar" else f"« {name} »"


# --------------------------------------------------------------------------- units

# SI base exponents: (m, kg, s, A, mol, K)
_BASE = {
    "m": ((1, 0, 0, 0, 0, 0), 1.0),
    "g": ((0, 1, 0, 0, 0, 0), 1e-3),
    "s": ((0, 0, 1, 0, 0, 0), 1.0),
    "A": ((0, 0, 0, 1, 0, 0), 1.0),
    "mol": ((0, 0, 0, 0, 1, 0), 1.0),
    "K": ((0, 0, 0, 0, 0, 1), 1.0),
    "N": ((1, 1, -2, 0, 0, 0), 1.0),
    "J": ((2, 1, -2, 0, 0, 0), 1.0),
    "W": ((2, 1, -3, 0, 0, 0), 1.0),
    "Pa": ((-1, 1, -2, 0, 0, 0), 1.0),
    "C": ((0, 0, 1, 1, 0, 0), 1.0),
    "V": ((2, 1, -3, -1, 0, 0), 1.0),
    "Ω": ((2, 1, -3, -2, 0, 0), 1.0),
    "F": ((-2, -1, 4, 2, 0, 0), 1.0),
    "H": ((2, 1, -2, -2, 0, 0), 1.0),
    "Hz": ((0, 0, -1, 0, 0, 0), 1.0),
    "Bq": ((0, 0, -1, 0, 0, 0), 1.0),
    "L": ((3, 0, 0, 0, 0, 0), 1e-3),
    "eV": ((2, 1, -2, 0, 0, 0), 1.602176634e-19),
    "u": ((0, 1, 0, 0, 0, 0), 1.66053906660e-27),
}
# units that take no SI prefix
_PLAIN = {
    "min": ((0, 0, 1, 0, 0, 0), 60.0),
    "h": ((0, 0, 1, 0, 0, 0), 3600.0),
    "j": ((0, 0, 1, 0, 0, 0), 86400.0),
    "jour": ((0, 0, 1, 0, 0, 0), 86400.0),
    "jours": ((0, 0, 1, 0, 0, 0), 86400.0),
    "d": ((0, 0, 1, 0, 0, 0), 86400.0),
    "an": ((0, 0, 1, 0, 0, 0), 365.25 * 86400.0),
    "ans": ((0, 0, 1, 0, 0, 0), 365.25 * 86400.0),
    "a": ((0, 0, 1, 0, 0, 0), 365.25 * 86400.0),
    "rad": ((0, 0, 0, 0, 0, 0), 1.0),
    "%": ((0, 0, 0, 0, 0, 0), 0.01),
    "1": ((0, 0, 0, 0, 0, 0), 1.0),
    "": ((0, 0, 0, 0, 0, 0), 1.0),
    "M": ((-3, 0, 0, 0, 1, 0), 1e3),  # mol/L
}
_PREFIX = {"G": 1e9, "M": 1e6, "k": 1e3, "h": 1e2, "d": 1e-1, "c": 1e-2, "m": 1e-3,
           "µ": 1e-6, "u": 1e-6, "n": 1e-9, "p": 1e-12}
_ALIASES = {"ohms": "Ω", "ohm": "Ω", "Ohm": "Ω", "μ": "µ", "l": "L"}
_SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")

_DIMENSIONS = {
    (0, 0, 1, 0, 0, 0): _("a time"),
    (1, 0, 0, 0, 0, 0): _("a length"),
    (0, 1, 0, 0, 0, 0): _("a mass"),
    (1, 0, -1, 0, 0, 0): _("a speed"),
    (1, 0, -2, 0, 0, 0): _("an acceleration"),
    (1, 1, -2, 0, 0, 0): _("a force"),
    (2, 1, -2, 0, 0, 0): _("an energy"),
    (2, 1, -3, 0, 0, 0): _("a power"),
    (2, 1, -3, -1, 0, 0): _("a voltage"),
    (0, 0, 0, 1, 0, 0): _("a current"),
    (2, 1, -3, -2, 0, 0): _("a resistance"),
    (-2, -1, 4, 2, 0, 0): _("a capacitance"),
    (0, 0, 1, 1, 0, 0): _("an electric charge"),
    (0, 0, -1, 0, 0, 0): _("a frequency, activity or rate constant (s⁻¹)"),
    (0, 0, 0, 0, 1, 0): _("an amount of substance"),
    (-3, 0, 0, 0, 1, 0): _("a concentration"),
    (-3, 0, -1, 0, 1, 0): _("a volumetric reaction rate"),
    (0, 0, 0, 0, 0, 0): _("a dimensionless number"),
    (0, 1, -1, 0, 0, 0): _("a fluid friction coefficient (kg/s)"),
    (3, 0, 0, 0, 0, 0): _("a volume"),
    (2, 0, 0, 0, 0, 0): _("an area"),
}


def _parse_factor(token: str):
    token = _ALIASES.get(token, token)
    if token in _PLAIN:
        return _PLAIN[token]
    if token in _BASE:
        return _BASE[token]
    if len(token) > 1:
        prefix, rest = token[0], _ALIASES.get(token[1:], token[1:])
        if prefix in _PREFIX and rest in _BASE:
            dim, factor = _BASE[rest]
            return dim, factor * _PREFIX[prefix]
    raise KeyError(token)


def _parse_unit(unit: str):
    """``(dimension, factor to SI)`` for strings like ``ms``, ``m/s²``, ``mol.L-1.min-1``."""
    text = str(unit).strip().translate(_SUPERSCRIPTS)
    text = re.sub(r"[Oo]hms?", "Ω", text)
    text = text.replace("μ", "µ").replace("·", ".").replace("*", ".").replace("^", "")
    text = re.sub(r"\s+", ".", text)
    if text in _PLAIN or text in _BASE:
        return _parse_factor(text)
    dim = [0] * 6
    factor = 1.0
    sign = 1
    for part in re.split(r"(/)", text):
        if part == "/":
            sign = -1
            continue
        for tok in filter(None, part.split(".")):
            m = re.fullmatch(r"(.*?[^\d\-]|%)(-?\d+)?", tok)
            if not m:
                raise KeyError(tok)
            sym, power = m.group(1), int(m.group(2) or 1)
            d, f = _parse_factor(sym)
            p = sign * power
            dim = [a + p * b for a, b in zip(dim, d)]
            factor *= f**p
        # a "/" applies to the factor right after it only (m/s.kg is read m/(s) . kg)
        sign = 1
    return tuple(dim), factor


def convert(value: float, unit: str, to: str) -> float:
    """Convert ``value`` from ``unit`` to ``to`` (same dimension), e.g. ``convert(5, "ms", "s")``."""
    d1, f1 = _parse_unit(unit)
    d2, f2 = _parse_unit(to)
    if d1 != d2:
        raise ValueError(f"{unit!r} and {to!r} are not the same kind of quantity")
    return value * f1 / f2


def _dimension_name(dim) -> str:
    msgid = _DIMENSIONS.get(tuple(dim))
    return _t(msgid) if msgid else _t("another kind of quantity")


# --------------------------------------------------------------------------- numeric answers

def _split(answer, unit: str | None, name: str):
    """``(value, unit)`` from an answer written ``x`` or ``(x, "unit")``; checks the form."""
    if answer is Ellipsis or answer is None:
        _fail(_("No answer yet for {name}."), name=_label(name))
    given_unit = None
    if isinstance(answer, (tuple, list)):
        if len(answer) != 2 or not isinstance(answer[1], str):
            _fail(_("Write {name} as (value, \"unit\"), for example (2.5, \"ms\")."),
                  name=_label(name))
        answer, given_unit = answer
    if isinstance(answer, bool) or not isinstance(answer, (numbers.Real, Fraction)):
        try:
            import numpy as np  # numpy scalars are fine
            if isinstance(answer, np.generic) and np.isrealobj(answer):
                answer = float(answer)
            else:
                raise TypeError
        except (ImportError, TypeError):
            _fail(_("{name} must be a number (got {kind})."), name=_label(name),
                  kind=type(answer).__name__)
    value = float(answer)
    if not math.isfinite(value):
        _fail(_("{name} must be a finite number."), name=_label(name))
    if unit is not None:
        if given_unit is None:
            _fail(_("Give the unit of {name}: write (value, \"unit\")."), name=_label(name))
        try:
            gdim, gfac = _parse_unit(given_unit)
        except KeyError:
            _fail(_("Unknown unit \"{unit}\" for {name}."), unit=given_unit, name=_label(name))
        edim, efac = _parse_unit(unit)
        if gdim != edim:
            _fail(_("The unit \"{unit}\" does not fit {name}: {expected} is expected."),
                  unit=given_unit, name=_label(name), expected=_dimension_name(edim))
        value = value * gfac / efac
    return value


def numeric(answer, *, unit: str | None = None, positive: bool | None = None,
            between: tuple[float, float] | None = None, integer: bool = False,
            name: str = "") -> bool:
    """Public check of a numeric answer's *form*.

    ``unit`` is a reference unit of the right kind (``"s"`` means "a time"); any compatible unit
    given by the pupil is accepted. ``between`` must be a wide plausibility range (a
    probability in [0, 1]), never a hint at the expected value.
    """
    value = _split(answer, unit, name)
    if integer and value != int(value):
        _fail(_("{name} must be a whole number."), name=_label(name))
    if positive is True and value <= 0:
        _fail(_("{name} must be strictly positive."), name=_label(name))
    if positive is False and value >= 0:
        _fail(_("{name} must be strictly negative."), name=_label(name))
    if between is not None and not (between[0] <= value <= between[1]):
        _fail(_("{name} must lie between {low} and {high}."), name=_label(name),
              low=between[0], high=between[1])
    return True


def expect_close(answer, expected: float, *, unit: str | None = None, rel: float = 1e-2,
                 abs: float = 0.0, name: str = "") -> bool:
    """Hidden-test check: the answer equals ``expected`` (in ``unit``) within the tolerance.

    Use only between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. The message on
    failure never shows ``expected``.
    """
    value = _split(answer, unit, name)
    if not math.isclose(value, expected, rel_tol=rel, abs_tol=abs):
        _fail(_("The value of {name} is not correct."), name=_label(name))
    return True


# --------------------------------------------------------------------------- choices

def _letters(answer, name: str) -> frozenset:
    if answer is Ellipsis or answer is None or answer == "":
        _fail(_("No answer yet for {name}."), name=_label(name))
    if isinstance(answer, str):
        items = [c for c in answer.replace(",", " ").split()] if (" " in answer or "," in answer) \
            else list(answer)
    elif isinstance(answer, (list, tuple, set, frozenset)):
        items = list(answer)
    else:
        _fail(_("Answer {name} with the letter of your choice, for example \"b\"."),
              name=_label(name))
    if not all(isinstance(i, str) for i in items):
        _fail(_("Answer {name} with the letter of your choice, for example \"b\"."),
              name=_label(name))
    return frozenset(i.strip().lower() for i in items if i.strip())


def choice(answer, options: str = "abcd", *, multiple: bool = False, name: str = "") -> bool:
    """Public check of a multiple-choice answer: letters among ``options``."""
    letters = _letters(answer, name)
    allowed = frozenset(options.lower())
    if not letters or not letters <= allowed:
        _fail(_("The answer to {name} must be one of: {options}."), name=_label(name),
              options=", ".join(options))
    if not multiple and len(letters) != 1:
        _fail(_("Give a single letter for {name}."), name=_label(name))
    return True


def expect_choice(answer, expected: str, *, name: str = "") -> bool:
    """Hidden-test check of a multiple-choice answer (one letter, or several for ``"bd"``)."""
    if _letters(answer, name) != frozenset(expected.lower()):
        _fail(_("The answer to {name} is not correct."), name=_label(name))
    return True


# --------------------------------------------------------------------------- functions

def function(f, *, args: tuple = (), returns=numbers.Real, name: str = "") -> bool:
    """Public check of a function written by the pupil: callable, runs on ``args``, returns
    the right type. ``args`` are sample inputs, chosen so that the result gives nothing away."""
    name = name or getattr(f, "__name__", "")
    if not callable(f):
        _fail(_("{name} must be a function (def ...)."), name=_label(name))
    try:
        result = f(*args)
    except NotImplementedError:
        _fail(_("The function {name} is not written yet."), name=_label(name))
    except Exception as exc:  # the pupil's code failed: say how, without a traceback
        _fail(_("The function {name} fails on {args}: {error}."), name=_label(name),
              args=", ".join(map(repr, args)), error=f"{type(exc).__name__}: {exc}")
    kinds = returns if isinstance(returns, tuple) else (returns,)
    if returns is not None and (isinstance(result, bool) and bool not in kinds
                                or not isinstance(result, kinds)):
        try:
            import numpy as np
            ok = isinstance(result, np.generic) and any(
                issubclass(k, numbers.Number) for k in kinds)
        except ImportError:
            ok = False
        if not ok:
            _fail(_("The function {name} must return {kind} (got {got})."), name=_label(name),
                  kind=_kind_name(kinds), got=type(result).__name__)
    return True


def _kind_name(kinds) -> str:
    if any(k in (numbers.Real, float, int, numbers.Number) for k in kinds):
        return _t("a number")
    if list in kinds or tuple in kinds:
        return _t("a list")
    if bool in kinds:
        return _t("True or False")
    return "/".join(getattr(k, "__name__", str(k)) for k in kinds)


# --------------------------------------------------------------------------- self-check

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.S | re.M)


def _find_notebook(path) -> Path | None:
    if path:
        return Path(path)
    try:
        ns = get_ipython().user_ns
    except NameError:
        ns = {}
    session = ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if session and Path(session).suffix == ".ipynb" and Path(session).exists():
        return Path(session)
    found = [p for p in Path.cwd().glob("*.ipynb") if not p.name.startswith(".")]
    return found[0] if len(found) == 1 else None


def _public_tests(nb: dict):
    """``(grade_id, points, public source)`` for each autograder test cell; hidden parts cut."""
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        yield meta.get("grade_id", "?"), meta.get("points", 0), _HIDDEN.sub("", source)


def self_check(path: str | os.PathLike | None = None, *, namespace: dict | None = None):
    """Run the public checks of this notebook against your current answers and print a report.

    Run all the cells above first. Only the visible checks run: the hidden tests are run by
    the teacher's correction, so a full report here does not promise full marks.
    """
    nb_path = _find_notebook(path)
    if namespace is None:
        try:
            namespace = get_ipython().user_ns
        except NameError:
            namespace = sys.modules["__main__"].__dict__
    if nb_path is None or not nb_path.exists():
        print(_t("Self-check: cannot find this notebook; call self_check(\"name.ipynb\")."))
        return None
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    rows = []
    for grade_id, points, source in _public_tests(nb):
        try:
            exec(compile(source, f"<{grade_id}>", "exec"), namespace)
        except CheckError as exc:
            rows.append((grade_id, points, False, str(exc)))
        except NameError as exc:
            missing = getattr(exc, "name", None) or str(exc)
            rows.append((grade_id, points, False,
                         _t("Not answered yet (\"{name}\" is not defined).", name=missing)))
        except Exception as exc:  # report, never crash the pupil's kernel
            rows.append((grade_id, points, False, f"{type(exc).__name__}: {exc}"))
        else:
            rows.append((grade_id, points, True, _t("form OK")))
    passed = sum(ok for *_, ok, _m in rows)
    _display_report(rows, passed)
    return passed, len(rows)


def _display_report(rows, passed):
    title = _t("Self-check (public checks only)")
    summary = _t("{passed} of {total} questions pass the public checks.",
                 passed=passed, total=len(rows))
    note = _t("Hidden tests run when your work is graded: the final mark may be lower.")
    dir_ = direction(_state["lang"])
    lines = [title, summary]
    lines += [f"  {'✔' if ok else '✘'} {gid} ({pts} pt) : {msg}" for gid, pts, ok, msg in rows]
    lines.append(note)
    text = "\n".join(lines)
    try:
        from IPython.display import display
        items = "".join(
            f"<li><span style='color:{'#1a7f37' if ok else '#cf222e'}'>{'✔' if ok else '✘'}</span>"
            f" <code dir='ltr'>{html.escape(str(gid))}</code> ({html.escape(str(pts))} pt) : "
            f"{html.escape(msg)}</li>"
            for gid, pts, ok, msg in rows)
        display({
            "text/html": f"<div dir='{dir_}' lang='{_state['lang']}'>"
                         f"<strong>{html.escape(title)}</strong><p>{html.escape(summary)}</p>"
                         f"<ul>{items}</ul><p><em>{html.escape(note)}</em></p></div>",
            "text/plain": text,
        }, raw=True)
    except ImportError:
        print(text)
