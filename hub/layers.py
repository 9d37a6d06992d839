"""``cartable.yaml`` turned into JupyterHub configuration, one small layer per area.

Each layer only sets values on the traitlets config ``c`` from the validated site
configuration ``cfg``; :func:`apply` runs them all. The layers are tested one by
one on plain :class:`traitlets.config.Config` objects (``tests/unit``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from cartable.core import i18n, roles
from cartable.core.services import (  # noqa: F401
    PORT_OFFSETS,
    discover,
    service_host_env,
    spec_functions,
    through_proxy,
    write_server_files,
)
from cartable.hub import privacy

PACKAGE_DIR = Path(__file__).parent
CHECKOUT = PACKAGE_DIR.parent
SYNC_SERVICE = "cartable-sync"
PRESTART_SERVICE = "cartable-prestart"
CULLER_SERVICE = "cartable-idle-culler"
# the names of the other parts' services (their specs are found through entry points: the hub
# imports neither grading nor extensions)
EXCHANGE_SERVICE = "cartable-exchange"
DASHBOARDS_SERVICE = "cartable-dashboards"
LESSONS_SERVICE = "cartable-lessons"
# the Unix accounts services' kernels drop to when the hub is root (declared by their specs)
DASHBOARDS_KERNEL_ACCOUNT = "cartable-dashboard"
LESSONS_KERNEL_ACCOUNT = "cartable-lesson"
#: entry points (group ``cartable.services``) of the hub's own services, in their order
HUB_SERVICES = ("sync", "idle-culler", "prestart")
#: JupyterHub's default 'server' role: what a user's server token may do before services add theirs
DEFAULT_SERVER_TOKEN_SCOPES = ("users:activity!user", "access:servers!server")
# Pupils never get nbgrader's teacher tools, nor JupyterLab's outside-news prompt.
PUPIL_DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    # kept: assignment_list (fetch and submit through the exchange service) and
    # validate_assignment (check a notebook before submitting it)
    # a leaner server: no language servers, no classic-notebook front end, no Voilà preview,
    # no terminal (a bac-prep pupil works in notebooks)
    "jupyter_lsp",
    "notebook",
    "voila.server_extension",
    "jupyter_server_terminals",
)


def secret_file(cfg, name: str, nbytes: int = 32) -> Path:
    """A secret kept in ``<state_dir>/secrets/<name>`` (mode 0600), made on first use."""
    d = cfg.state_dir / "secrets"
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    path = d / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(nbytes))
    return path


def read_secret(cfg, name: str) -> str:
    return secret_file(cfg, name).read_text().strip()


def server_config_dir(cfg) -> Path:
    """The Jupyter configuration every user's server reads, one folder per role (public: no secret)."""
    return cfg.state_dir / "server-config"


def ports(cfg) -> dict[str, int]:
    """The public port and, next to it, the proxy's API, the hub's own port and the services'."""
    port = cfg["hub"]["port"]
    return {name: port + offset for name, offset in PORT_OFFSETS.items()}


def network(c, cfg):
    p = ports(cfg)
    c.JupyterHub.bind_url = f"http://{cfg['hub']['ip']}:{p['public']}/"
    if cfg["hub"]["subdomain_host"]:
        # each user's server on a host name of its own: a pupil's pages never share an origin
        # with a teacher's (needs a wildcard DNS name and certificate: docs/security.md)
        c.JupyterHub.subdomain_host = cfg["hub"]["subdomain_host"]
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{p['hub']}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{p['proxy_api']}"


def state(c, cfg):
    d = cfg.state_dir
    d.mkdir(parents=True, exist_ok=True)
    # the lessons' and dashboards' kernel accounts traverse it to their folders; every entry
    # is private by its own mode (cartable.hub.privacy)
    os.chmod(d, privacy.STATE_DIR_MODE)
    c.JupyterHub.db_url = cfg.database_url("jupyterhub")
    c.JupyterHub.cookie_secret_file = str(secret_file(cfg, "cookie_secret"))
    c.JupyterHub.pid_file = str(d / "jupyterhub.pid")
    c.JupyterHub.data_files_path = str(Path(sys.prefix) / "share" / "jupyterhub")


def proxy(c, cfg):
    chp = CHECKOUT / "node_modules" / ".bin" / "configurable-http-proxy"
    c.ConfigurableHTTPProxy.command = [str(chp) if chp.exists() else shutil.which("configurable-http-proxy") or "configurable-http-proxy"]
    c.ConfigurableHTTPProxy.auth_token = read_secret(cfg, "proxy_token")
    c.ConfigurableHTTPProxy.pid_file = str(cfg.state_dir / "proxy.pid")
    c.JupyterHub.cleanup_proxy = cfg["hub"]["cleanup_servers_on_stop"]


def lifecycle(c, cfg):
    c.JupyterHub.cleanup_servers = cfg["hub"]["cleanup_servers_on_stop"]
    c.JupyterHub.concurrent_spawn_limit = cfg["hub"]["concurrent_spawn_limit"]
    c.JupyterHub.shutdown_on_logout = False


def authentication(c, cfg):
    auth = cfg["auth"]
    c.Authenticator.admin_users = set(auth["admins"])
    # Removed pupils lose their session within a minute.
    c.Authenticator.auth_refresh_age = 60
    c.Authenticator.refresh_pre_spawn = True
    if auth["method"] == "local":
        local = auth["local"]
        c.JupyterHub.authenticator_class = "cartable-local"
        c.CartableAuthenticator.db_url = cfg.database_url("cartable")
        c.CartableAuthenticator.max_failures = local["max_failures"]
        c.CartableAuthenticator.lockout_minutes = local["lockout_minutes"]
        c.CartableAuthenticator.min_password_length = local["min_password_length"]
        c.CartableAuthenticator.force_password_change = local["force_password_change"]
        c.CartableAuthenticator.language = cfg["school"]["language"]
    else:
        from cartable.hub.oidc import configure

        configure(c, cfg)


def rbac(c, cfg):
    """Custom scopes, the static roles bound to the role groups (services' roles are added by
    :func:`register`) and, with the local roster, the groups the Hub creates at start-up."""
    from cartable.core.db import for_config
    from cartable.hub import sync

    c.JupyterHub.custom_scopes = roles.CUSTOM_SCOPES
    static = roles.load_roles()
    static_names = {r["name"] for r in static}
    kept = [r for r in (c.JupyterHub.load_roles if "load_roles" in c.JupyterHub else [])
            if r["name"] not in static_names]
    c.JupyterHub.load_roles = [*static, *kept]
    if cfg["auth"]["method"] == "local":
        db = for_config(cfg)
        try:
            c.JupyterHub.load_groups = sync.load_groups(db)
        finally:
            db.dispose()


def register(c, cfg, specs) -> None:
    """The one place turning service specs (:class:`cartable.core.services.ServiceSpec`) into
    JupyterHub configuration: each enabled spec adds its entry to ``JupyterHub.services``, its
    roles to ``JupyterHub.load_roles``, its scopes to users' server tokens, its variables to
    their environment and its Jupyter config files to :func:`server_config_dir`; the folders and
    Unix account it needs are made first. What earlier layers set is kept."""
    svc = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    load_roles = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    for spec in specs:
        if not spec.enabled(cfg):
            continue
        for path, mode in spec.state_dirs.items():
            Path(path).mkdir(parents=True, exist_ok=True)
            os.chmod(path, mode)
        if spec.system_account and os.geteuid() == 0:
            _ensure_system_account(*spec.system_account)
        entry = {"name": spec.name}
        if spec.port_offset is not None:
            entry["url"] = f"http://127.0.0.1:{cfg['hub']['port'] + spec.port_offset}"
        if spec.api_token_secret:
            entry["api_token"] = read_secret(cfg, spec.api_token_secret)
        if spec.command:
            entry["command"] = list(spec.command)
        entry["environment"] = dict(spec.environment)
        entry.update(spec.hub_options)
        svc.append(entry)
        load_roles.extend(spec.roles())
        if spec.server_scopes:
            # JupyterHub's default 'server' role, made explicit, plus what reaches the service: the
            # Hub gives a server's token only the subset its owner holds (the users' roles)
            scopes = list(c.Spawner.server_token_scopes) if "server_token_scopes" in c.Spawner else ["inherit"]
            if scopes == ["inherit"]:
                scopes = list(DEFAULT_SERVER_TOKEN_SCOPES)
            c.Spawner.server_token_scopes = [*scopes, *(s for s in spec.server_scopes if s not in scopes)]
        if spec.server_env:
            c.Spawner.environment.update(spec.server_env)
        if spec.server_files:
            write_server_files(server_config_dir(cfg), spec.server_files)
    c.JupyterHub.services = svc
    c.JupyterHub.load_roles = load_roles


def _layer(name: str, names: tuple[str, ...] | None, doc: str):
    """A layer registering the specs of the entry points ``names`` (None: every entry point no
    other layer registers)."""

    def layer(c, cfg):
        if names is None:
            taken = {n for lay in LAYERS if getattr(lay, "entry_points", None) for n in lay.entry_points}
            wanted = tuple(n for n, _fn in spec_functions() if n not in taken)
        else:
            wanted = names
        register(c, cfg, discover(cfg, wanted))

    layer.__name__ = layer.__qualname__ = name
    layer.__doc__ = doc
    layer.entry_points = names
    return layer


services = _layer("services", HUB_SERVICES, "The hub's own services: roster sync, idle culler, pre-start.")


def spawner(c, cfg):
    sp = cfg["spawner"]
    c.JupyterHub.spawner_class = "cartable"
    # -I: no home or working directory on sys.path, no user site-packages, no PYTHON* variable:
    # no file of the user's shadows the server's own code
    c.Spawner.cmd = [sys.executable, "-I", "-m", "jupyterhub.singleuser"]
    # no ~/.jupyter configuration, no lab extension from ~/.local: the site decides what runs
    c.Spawner.disable_user_config = True
    c.Spawner.default_url = "/lab"
    c.Spawner.mem_limit = sp["mem_limit"]
    c.Spawner.cpu_limit = float(sp["cpu_limit"])
    c.Spawner.start_timeout = sp["start_timeout"]
    c.Spawner.http_timeout = sp["http_timeout"]
    c.CartableSpawner.isolation = sp["isolation"]
    c.CartableSpawner.homes_dir = str(cfg.homes_dir)
    c.CartableSpawner.config_dir = str(server_config_dir(cfg))
    c.CartableSpawner.unix_prefix = sp["unix_prefix"]
    c.CartableSpawner.pids_limit = sp["pids_limit"]
    c.CartableSpawner.pupil_group = cfg["network"]["pupil_group"]
    c.CartableSpawner.language = cfg["school"]["language"]
    c.CartableSpawner.pupil_disabled_server_extensions = list(PUPIL_DISABLED_SERVER_EXTENSIONS)


def isolated(cfg) -> bool:
    """Whether each user's server runs under a Unix account of its own."""
    iso = cfg["spawner"]["isolation"]
    return iso == "unix" or (iso == "auto" and os.geteuid() == 0)


def isolation_warning(cfg) -> str | None:
    """The loud message for a hub whose pupils share one account, or None."""
    if not isolated(cfg):
        return i18n.bilingual(i18n._(
            "WARNING: the hub is not running as root, so every pupil's server runs under the same account: "
            "pupils are NOT isolated from each other. Run as root for one Unix account per pupil."))
    return None


def templates(c, cfg):
    """Hub pages in the site's language; JupyterHub calls each callable with the user."""
    lang = cfg["school"]["language"]
    roster = {}

    def names(user) -> dict:
        """The person's names in Latin and Arabic script, from the roster."""
        if user is None:
            return {}
        from cartable.core.db import Database

        db = roster.setdefault("db", Database(cfg.database_url("cartable")))
        person = db.person(user.name)
        return {"latin": person.display_name, "arabic": person.display_name_ar} if person else {"latin": user.name}

    c.JupyterHub.template_paths = [str(PACKAGE_DIR / "templates")]
    c.JupyterHub.template_vars = {
        "tr": lambda user: i18n.gettext_for(lang),
        "cartable_lang": lang,
        "cartable_dir": i18n.direction(lang),
        "school_name": cfg["school"]["name"],
        "school_code": cfg["school"]["code"],
        "cartable_groups": lambda user: roles.describe_groups(user.groups if user else []),
        "cartable_names": names,
    }


def _ensure_system_account(name: str, comment: str = "Cartable lessons' kernels") -> str:
    """The system account ``name`` (no home, no shell), made with ``useradd --system`` if missing:
    what a service's kernels drop to when the hub is root (cartable.core.kernel_account)."""
    import pwd
    import subprocess

    try:
        pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", "--comment", comment, name],
                           capture_output=True, text=True)
        try:
            pwd.getpwnam(name)  # made by us, or at the same moment by another site on this machine
        except KeyError:
            raise RuntimeError(f"cannot create the account {name}: {r.stderr.strip()}") from None
    return name


def exchange_url(cfg) -> str:
    """Where users' servers reach the exchange service (``exchange.url``, or the service's port)."""
    return cfg["exchange"]["url"] or f"http://127.0.0.1:{ports(cfg)['exchange']}/services/{EXCHANGE_SERVICE}/"


exchange = _layer("exchange", ("exchange",), "The exchange service and what servers need to use it.")
dashboards = _layer("dashboards", ("dashboards",), "The dashboards service: Voilà behind the Hub's OAuth.")
lessons = _layer("lessons", ("lessons",), "Lessons as read-only Voilà pages, behind the Hub's OAuth.")
other_services = _layer("other_services", None, "Every other service declared in the entry-point group.")

LAYERS = (network, state, proxy, lifecycle, authentication, rbac, services, spawner, templates, exchange, dashboards,
          lessons, other_services)


def apply(c, cfg):
    for layer in LAYERS:
        layer(c, cfg)
    return c
