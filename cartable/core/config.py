"""The site configuration file, ``cartable.yaml``: loading, defaults and validation.

The schema lives beside this module in ``schema.yaml``. A bad file raises
:class:`ConfigError`, whose message names the file, the line, the key, what is
wrong and what to do, in French then English.
"""

from __future__ import annotations

import copy
import os
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cartable.core.i18n import _, gettext_for

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
ENV_VAR = "CARTABLE_CONFIG"
DEFAULT_HOMES = "/home/cartable"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file."""

    key: str
    line: int | None
    message: str  # English msgid, formatted with ``params``
    params: dict

    def render(self, lang: str, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        t = gettext_for(lang)
        params = {k: t(v) if k == "hint" else v for k, v in self.params.items()}
        text = t(self.message).format(**params)
        return f"{where}: {self.key or '(racine)' if lang == 'fr' else self.key or '(root)'}: {text}"


class ConfigError(Exception):
    """The configuration file cannot be used; ``str()`` gives the bilingual message."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        fr = [p.render("fr", self.path) for p in self.problems]
        en = [p.render("en", self.path) for p in self.problems]
        head_fr = gettext_for("fr")(_("The configuration file is not valid; Cartable will not start."))
        head_en = "The configuration file is not valid; Cartable will not start."
        return "\n".join([head_fr, *fr, "", head_en, *en])


def load_schema() -> dict:
    with SCHEMA_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


class SiteConfig(dict):
    """A validated ``cartable.yaml`` with defaults filled in and paths made absolute."""

    path: Path

    @property
    def state_dir(self) -> Path:
        return Path(self["hub"]["state_dir"])

    @property
    def school(self) -> dict:
        return self["school"]

    def database_url(self, which: str = "cartable") -> str:
        """The SQLAlchemy URL of the ``cartable`` (roster) or ``jupyterhub`` database.

        With no ``hub.database_url`` each lives in its own SQLite file in the state
        directory; with one, both share that database (our tables are prefixed).
        """
        url = self["hub"]["database_url"]
        if url:
            return url
        return f"sqlite:///{self.state_dir / (which + '.sqlite')}"

    @property
    def homes_dir(self) -> Path:
        """Where pupils' homes live: ``spawner.homes_dir`` (relative to the state directory unless
        absolute), else ``/home/cartable`` as root and ``<state_dir>-homes`` otherwise. Never inside
        the state directory (:mod:`cartable.hub.privacy` refuses it)."""
        value = self["spawner"]["homes_dir"]
        if value:
            return (self.state_dir / value).resolve()
        if os.geteuid() == 0:
            return Path(DEFAULT_HOMES)
        return self.state_dir.with_name(self.state_dir.name + "-homes")


def _fill_defaults(schema: dict, value: Any) -> Any:
    if schema.get("type") == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return value
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _fill_defaults(sub, value[key])
    return value


def _line_index(text: str) -> dict[tuple, int]:
    """Map each key path in a YAML document to its 1-based line number."""
    index: dict[tuple, int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = path + (k.value,)
                index[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                p = path + (i,)
                index[p] = v.start_mark.line + 1
                walk(v, p)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return index
    if root is not None:
        index[()] = root.start_mark.line + 1
        walk(root, ())
    return index


def _describe(error: jsonschema.ValidationError) -> tuple[tuple, str, dict]:
    """Turn a jsonschema error into (key path, English msgid, params)."""
    path = tuple(error.absolute_path)
    hint = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1]
        sub = error.schema.get("properties", {}).get(missing, {})
        return path + (missing,), _("this key is missing; give {hint}"), {"hint": sub.get("description", missing)}
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return path + (extra[0],), _("unknown key; the keys allowed here are: {known}"), {"known": known}
    if v == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return path, _("{value!r} is not allowed; choose one of: {choices}"), {"value": error.instance, "choices": choices}
    if v == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " / ".join(error.validator_value)
        return path, _("expected a value of type {expected}, found {value!r}; give {hint}"), {
            "expected": expected, "value": error.instance, "hint": hint}
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        return path, _("{value!r} is out of range; give {hint}"), {"value": error.instance, "hint": hint}
    if v == "pattern":
        return path, _("{value!r} has the wrong form; give {hint}"), {"value": error.instance, "hint": hint}
    return path, _("invalid value {value!r}: {detail}"), {"value": error.instance, "detail": error.message}


def validate(data: Any, text: str = "") -> list[Problem]:
    """Every problem in ``data`` (the parsed YAML), with line numbers taken from ``text``."""
    lines = _line_index(text)

    def line_of(path):
        while path and path not in lines:
            path = path[:-1]
        return lines.get(path)

    if not isinstance(data, dict):
        return [Problem("", 1, _("the file must be a mapping of keys to values, starting with school:"), {})]
    problems = []
    validator = jsonschema.Draft202012Validator(load_schema())
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path, msg, params = _describe(error)
        problems.append(Problem(".".join(map(str, path)), line_of(path), msg, params))
    if problems:
        return problems
    tz = (data.get("school") or {}).get("timezone")
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("school.timezone", line_of(("school", "timezone")),
                                    _("{value!r} is not a known time zone; give {hint}"),
                                    {"value": tz, "hint": "Africa/Casablanca, Africa/Djibouti, Africa/Tunis"}))
    url = (data.get("hub") or {}).get("database_url")
    if url:
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() not in ("sqlite", "postgresql"):
                raise ArgumentError(parsed.get_backend_name())
        except ArgumentError:
            problems.append(Problem("hub.database_url", line_of(("hub", "database_url")),
                                    _("{value!r} is not a database URL Cartable can use; give postgresql://user:password@host/database or leave it empty for SQLite"),
                                    {"value": url}))
    auth = data.get("auth") or {}
    if auth.get("method") == "oidc":
        oidc = auth.get("oidc") or {}
        for key in ("client_id", "client_secret"):
            if not oidc.get(key):
                problems.append(Problem(f"auth.oidc.{key}", line_of(("auth", "oidc")) or line_of(("auth",)),
                                        _("needed when auth.method is oidc; give the value registered with the provider"), {}))
        if not oidc.get("issuer") and not all(oidc.get(k) for k in ("authorize_url", "token_url", "userdata_url")):
            problems.append(Problem("auth.oidc.issuer", line_of(("auth", "oidc")) or line_of(("auth",)),
                                    _("give the provider's issuer URL, or all of authorize_url, token_url and userdata_url"), {}))
    return problems


def _check_layout(cfg: SiteConfig, text: str) -> None:
    """Problems only visible once paths are absolute: pupils' homes beside the site's state."""
    state, homes = cfg.state_dir.resolve(), cfg.homes_dir.resolve()
    if homes == state or state in homes.parents or homes in state.parents:
        lines = _line_index(text)
        raise ConfigError(str(cfg.path), [Problem(
            "spawner.homes_dir", lines.get(("spawner", "homes_dir")) or lines.get(("hub", "state_dir")),
            _("{homes} and the state directory {state} must not contain each other: pupils' homes get a "
              "folder of their own, such as /home/cartable"), {"homes": str(homes), "state": str(state)})])


def load(path: str | os.PathLike | None = None) -> SiteConfig:
    """Read, validate and complete a ``cartable.yaml``; raise :class:`ConfigError` if it is bad."""
    path = Path(path or os.environ.get(ENV_VAR) or "cartable.yaml").resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [Problem("", None, _("the file does not exist; copy deploy/cartable.example.yaml there and edit it"), {})]) from None
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), [Problem("", None, _("the file is not UTF-8 text ({detail}); save it as UTF-8"), {"detail": str(e)})]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(str(path), [Problem("", mark.line + 1 if mark else None,
                                              _("this is not valid YAML ({detail}); check indentation and colons"),
                                              {"detail": getattr(e, "problem", None) or str(e)})]) from None
    problems = validate(data, text)
    if problems:
        raise ConfigError(str(path), problems)
    data = _fill_defaults(load_schema(), data)
    cfg = SiteConfig(data)
    cfg.path = path
    state = Path(cfg["hub"]["state_dir"])
    if not state.is_absolute():
        cfg["hub"]["state_dir"] = str((path.parent / state).resolve())
    _check_layout(cfg, text)
    return cfg


def from_dict(data: dict, base: str | os.PathLike = ".") -> SiteConfig:
    """Validate a configuration given as a dict (tests, generated configs)."""
    problems = validate(copy.deepcopy(data), yaml.safe_dump(data))
    if problems:
        raise ConfigError("<dict>", problems)
    cfg = SiteConfig(_fill_defaults(load_schema(), copy.deepcopy(data)))
    cfg.path = Path(base).resolve() / "cartable.yaml"
    state = Path(cfg["hub"]["state_dir"])
    if not state.is_absolute():
        cfg["hub"]["state_dir"] = str((Path(base).resolve() / state).resolve())
    _check_layout(cfg, yaml.safe_dump(data))
    return cfg
