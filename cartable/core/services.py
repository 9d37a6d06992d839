"""Hub-managed services, declared once: :class:`ServiceSpec` and their discovery.

Each part (``hub``, ``grading``, ``extensions``) describes its services with one spec-building
function per service, ``spec(cfg) -> ServiceSpec`` (or a list of specs), registered in the
entry-point group :data:`ENTRY_POINT_GROUP` of ``pyproject.toml``. ``cartable.hub.layers`` finds
them with :func:`discover` and turns every enabled spec into ``c.JupyterHub.services``,
``c.JupyterHub.load_roles`` and what users' servers get (token scopes, environment, Jupyter
config files) in one place (:func:`cartable.hub.layers.register`): the hub never imports the
other parts. See docs/services.md.

A spec-building function is pure: it computes values from the site configuration and has no side
effect. Whatever must be made on disk or on the system (a state folder, a Unix account, a secret,
the servers' config files) is declared here and made by the hub, for enabled services only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "cartable.services"

#: Ports next to the site's public port (``hub.port``): the proxy's API, the hub's own and the services'.
PORT_OFFSETS = {"public": 0, "proxy_api": 1, "hub": 2, "exchange": 3, "dashboards": 5, "lessons": 6}

#: The groups whose members reach a service meant for every user (:attr:`ServiceSpec.users_role`).
USER_ROLES = ("pupil", "teacher", "inspector", "director")


def always(cfg) -> bool:
    return True


@dataclass(frozen=True)
class UsersRole:
    """A role letting every pupil, teacher, inspector and director reach the service
    (``access:services!service=<name>``)."""

    name: str
    description: str


@dataclass(frozen=True)
class ServiceSpec:
    """One Hub-managed service and what it adds to users' servers.

    Hub side (``c.JupyterHub.services`` and ``c.JupyterHub.load_roles``):

    - ``name``: the service's name (``/services/<name>/``);
    - ``command``: the command the Hub runs (None: an external service);
    - ``port_offset``: the service listens on ``hub.port + port_offset`` (:data:`PORT_OFFSETS`);
      None: no URL (a service with no web server);
    - ``environment``: the service's own environment;
    - ``api_token_secret``: name of a site secret (``<state_dir>/secrets/<name>``) given as the
      service's ``api_token``; None: JupyterHub makes one;
    - ``hub_options``: other keys of the service's entry (``display``, ``oauth_no_confirm``,
      ``oauth_client_allowed_scopes`` …);
    - ``role``/``role_description``/``scopes``: the service's own role and its scopes (no role
      when ``scopes`` is empty);
    - ``users_role``: a role letting every user reach the service (:class:`UsersRole`), or None;

    Users' servers side (``c.Spawner``):

    - ``server_scopes``: scopes added to users' server tokens;
    - ``server_env``: environment variables of every user's server;
    - ``server_files``: Jupyter config files read by users' servers, by role folder
      (``pupil``/``staff``): ``{"staff": {"jupyter_server_config.json": text}}``;

    System side (made by the hub, for an enabled service only):

    - ``system_account``: ``(name, comment)`` of a Unix account the service's kernels drop to
      when the hub is root;
    - ``state_dirs``: folders (and their modes) the service needs before it starts;

    - ``enabled``: whether the site runs the service (a predicate on the site configuration).
    """

    name: str
    command: list[str] | None = None
    port_offset: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    api_token_secret: str | None = None
    hub_options: dict[str, Any] = field(default_factory=dict)
    role: str | None = None
    role_description: str = ""
    scopes: tuple[str, ...] = ()
    users_role: UsersRole | None = None
    server_scopes: tuple[str, ...] = ()
    server_env: dict[str, str] = field(default_factory=dict)
    server_files: dict[str, dict[str, str]] = field(default_factory=dict)
    system_account: tuple[str, str] | None = None
    state_dirs: dict[str, int] = field(default_factory=dict)
    enabled: Callable[[Any], bool] = always

    def roles(self) -> list[dict]:
        """The service's entries of ``JupyterHub.load_roles``."""
        out = []
        if self.scopes:
            out.append({"name": self.role or self.name, "description": self.role_description,
                        "scopes": list(self.scopes), "services": [self.name]})
        if self.users_role:
            out.append({"name": self.users_role.name, "description": self.users_role.description,
                        "scopes": [f"access:services!service={self.name}"],
                        "groups": [f"role:{r}" for r in USER_ROLES]})
        return out


def service_env(cfg) -> dict[str, str]:
    """The environment every Cartable service gets: where the site configuration is."""
    return {"CARTABLE_CONFIG": str(cfg.path)}


def port(cfg, name: str) -> int:
    return cfg["hub"]["port"] + PORT_OFFSETS[name]


def through_proxy(cfg, service: str) -> str:
    """Where users' servers reach a Hub service: through the proxy's public port, the one port of
    this machine besides the hub's and the exchange's that pupils' code may connect to
    (cartable.hub.network). With ``hub.subdomain_host`` the proxy routes by host name: callers send
    the service's host in ``Host`` (:func:`service_host_env`)."""
    ip = cfg["hub"]["ip"]
    host = "127.0.0.1" if ip in ("0.0.0.0", "", "127.0.0.1") else ("[::1]" if ip == "::" else ip)
    return f"http://{host}:{port(cfg, 'public')}/services/{service}/"


def service_host_env(cfg, env: str, service: str) -> dict[str, str]:
    """``{env: host}`` of ``service`` when servers have host names of their own, else ``{}``."""
    sub = cfg["hub"]["subdomain_host"]
    if not sub:
        return {}
    from urllib.parse import urlparse

    from jupyterhub.utils import subdomain_hook_idna  # JupyterHub's default JupyterHub.subdomain_hook

    parsed = urlparse(sub)
    domain = subdomain_hook_idna(service, parsed.hostname, kind="service")
    return {env: domain + (f":{parsed.port}" if parsed.port else "")}


def forwarded_env(*keys: str) -> dict[str, str]:
    """The variables among ``keys`` set in the hub's own environment."""
    return {k: os.environ[k] for k in keys if os.environ.get(k)}


def spec_functions(names: tuple[str, ...] | None = None) -> list[tuple[str, Callable]]:
    """``(entry point name, spec-building function)`` of the group, sorted by name, or those of
    ``names`` in that order."""
    eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    wanted = sorted(eps) if names is None else names
    missing = [n for n in wanted if n not in eps]
    if missing:
        raise LookupError(f"no entry point {', '.join(missing)} in the group {ENTRY_POINT_GROUP} "
                          "(is the package installed? pip install -e .)")
    return [(n, eps[n].load()) for n in wanted]


def discover(cfg, names: tuple[str, ...] | None = None) -> list[ServiceSpec]:
    """Every spec of the entry points ``names`` (default: all), enabled or not, in order."""
    out = []
    for _name, fn in spec_functions(names):
        got = fn(cfg)
        out.extend(got if isinstance(got, (list, tuple)) else [got])
    return out


def write_server_files(base: Path, files: dict[str, dict[str, str]]) -> None:
    """Write ``{role folder: {file name: text}}`` under ``base`` (folders 0755, files 0644, each
    replaced atomically): Jupyter config read by every user's server (the spawner's
    ``JUPYTER_CONFIG_PATH``; public, no secret)."""
    base = Path(base)
    for role, entries in files.items():
        d = base / role
        d.mkdir(parents=True, exist_ok=True)
        for p in (base, d):
            os.chmod(p, 0o755)
        for name, text in entries.items():
            path = d / name
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o644)
            tmp.replace(path)
