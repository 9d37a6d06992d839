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

from cartable.core import i18n
from cartable.hub import privacy
from cartable.core import roles

PACKAGE_DIR = Path(__file__).parent
CHECKOUT = PACKAGE_DIR.parent
SYNC_SERVICE = "cartable-sync"
PRESTART_SERVICE = "cartable-prestart"
CULLER_SERVICE = "cartable-idle-culler"
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
    return {"public": port, "proxy_api": port + 1, "hub": port + 2, "exchange": port + 3, "dashboards": port + 5,
            "lessons": port + 6}


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
    from cartable.hub import sync
    from cartable.core.db import for_config

    c.JupyterHub.custom_scopes = roles.CUSTOM_SCOPES
    service_roles = []
    # With OpenID Connect the provider's claims set users and groups at each login
    # (manage_groups): there is no roster to sync, and no sync service to give a role.
    if cfg["auth"]["method"] == "local":
        service_roles.append({
            "name": SYNC_SERVICE,
            "description": "Keeps the Hub's users and groups equal to Cartable's roster",
            "scopes": ["admin:users", "admin:groups", "admin:servers", "list:users", "read:users"],
            "services": [SYNC_SERVICE],
        })
    if cfg["spawner"]["idle_timeout"]:
        # Only when the services layer defines the culler: JupyterHub refuses roles of unknown services.
        service_roles.append({
            "name": CULLER_SERVICE,
            "description": "Stops idle pupil servers",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": [CULLER_SERVICE],
        })
    if cfg["timetable"]["slots"]:
        service_roles.append({
            "name": PRESTART_SERVICE,
            "description": "Starts the pupils' servers of a class before its lesson (the timetable)",
            "scopes": ["read:groups", f"servers!group={roles.ROLE_GROUP['pupil']}"],
            "services": [PRESTART_SERVICE],
        })
    c.JupyterHub.load_roles = roles.load_roles(service_roles)
    if cfg["auth"]["method"] == "local":
        db = for_config(cfg)
        try:
            c.JupyterHub.load_groups = sync.load_groups(db)
        finally:
            db.dispose()


def services(c, cfg):
    env = {"CARTABLE_CONFIG": str(cfg.path)}
    svc = []
    if cfg["auth"]["method"] == "local":
        svc.append({
            "name": SYNC_SERVICE,
            "api_token": read_secret(cfg, "sync_token"),
            "command": [sys.executable, "-m", "cartable.hub.sync", "--loop"],
            "environment": env,
        })
    idle = cfg["spawner"]["idle_timeout"]
    if idle:
        svc.append({
            "name": CULLER_SERVICE,
            "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle}"],
            "environment": env,
        })
    if cfg["timetable"]["slots"]:
        svc.append({
            "name": PRESTART_SERVICE,
            "command": [sys.executable, "-m", "cartable.hub.prestart"],
            "environment": env,
        })
    c.JupyterHub.services = svc


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


def add_service(c, service: dict, service_roles: list[dict], server_scopes: list[str] = (),
                server_env: dict | None = None) -> None:
    """Register a Hub-managed ``service`` with its ``service_roles``; give users' server tokens
    ``server_scopes`` (when the tokens are not ``inherit``) and their environment ``server_env``."""
    c.JupyterHub.services = [*(c.JupyterHub.services if "services" in c.JupyterHub else []), service]
    c.JupyterHub.load_roles = [*(c.JupyterHub.load_roles if "load_roles" in c.JupyterHub else []),
                               *service_roles]
    scopes = list(c.Spawner.server_token_scopes) if "server_token_scopes" in c.Spawner else ["inherit"]
    if server_scopes and scopes != ["inherit"]:
        c.Spawner.server_token_scopes = [*scopes, *(s for s in server_scopes if s not in scopes)]
    c.Spawner.environment.update(server_env or {})


def service_users_role(name: str, service: str, description: str) -> dict:
    """The role letting every pupil, teacher, inspector and director reach ``service``."""
    return {"name": name, "description": description, "scopes": [f"access:services!service={service}"],
            "groups": [roles.ROLE_GROUP[r] for r in ("pupil", "teacher", "inspector", "director")]}


EXCHANGE_SERVICE = "cartable-exchange"
# What a user's server token (JUPYTERHUB_API_TOKEN) may do: JupyterHub's default 'server'
# role plus reaching the exchange service. The Hub gives the token only the subset its
# owner holds, hence the role below.
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server",
                       f"access:services!service={EXCHANGE_SERVICE}"]


def exchange_url(cfg) -> str:
    return cfg["exchange"]["url"] or f"http://127.0.0.1:{ports(cfg)['exchange']}/services/{EXCHANGE_SERVICE}/"


def exchange(c, cfg):
    """The exchange service (cartable.grading.exchange_service) and what servers need to use it."""
    c.Spawner.server_token_scopes = list(SERVER_TOKEN_SCOPES)
    add_service(c, {
        "name": EXCHANGE_SERVICE,
        "url": f"http://127.0.0.1:{ports(cfg)['exchange']}",
        "command": [sys.executable, "-m", "cartable.grading.exchange_service"],
        "environment": {"CARTABLE_CONFIG": str(cfg.path)},
        "display": False,
    }, [service_users_role("cartable-exchange-user", EXCHANGE_SERVICE,
                           "Use the assignment exchange (what one may do there is decided by the roster)")],
        server_env={"CARTABLE_EXCHANGE_URL": exchange_url(cfg), "CARTABLE_TIMEZONE": cfg["school"]["timezone"]})
    from cartable.grading.exchange_client import write_role_configs

    write_role_configs(server_config_dir(cfg))


DASHBOARDS_SERVICE = "cartable-dashboards"
# The Unix account dashboards' kernels run as when the hub is root: not the lessons' one, whose
# kernels run teachers' published code and must not read the dashboards' rows of grades.
DASHBOARDS_KERNEL_ACCOUNT = "cartable-dashboard"
#: What the dashboards service may learn of a viewer from their OAuth token: their groups and their
#: role's Cartable scope (the Hub gives only the subset the viewer holds).
DASHBOARDS_OAUTH_SCOPES = ["read:users:groups!user", "custom:cartable:learn", "custom:cartable:teach",
                           "custom:cartable:manage-school", "custom:cartable:inspect"]
#: What a user's server token adds to reach the dashboards service for the launcher's links.
DASHBOARDS_SERVER_SCOPES = [f"access:services!service={DASHBOARDS_SERVICE}", *DASHBOARDS_OAUTH_SCOPES]


def dashboards_port(cfg) -> int:
    return ports(cfg)["dashboards"]


def through_proxy(cfg, service: str) -> str:
    """Where users' servers reach a Hub service: through the proxy's public port, the one port of
    this machine besides the hub's and the exchange's that pupils' code may connect to
    (cartable.hub.network). With ``hub.subdomain_host`` the proxy routes by host name: callers send
    the service's host in ``Host`` (:func:`service_host_env`)."""
    ip = cfg["hub"]["ip"]
    host = "127.0.0.1" if ip in ("0.0.0.0", "", "127.0.0.1") else ("[::1]" if ip == "::" else ip)
    return f"http://{host}:{ports(cfg)['public']}/services/{service}/"


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


def dashboards_url(cfg) -> str:
    """Where pupils' and teachers' servers reach the dashboards service."""
    return through_proxy(cfg, DASHBOARDS_SERVICE)


def dashboards(c, cfg):
    """The dashboards service (cartable.grading.dashboards_service): Voilà behind the Hub's OAuth.

    The service runs as the hub's account; when that is root, the dashboards' kernels drop to the
    unprivileged ``cartable-dashboard`` account."""
    command = [sys.executable, "-m", "cartable.grading.dashboards.service"]
    if os.geteuid() == 0:
        command += ["--kernel-user", _ensure_system_account(DASHBOARDS_KERNEL_ACCOUNT, "Cartable dashboards' kernels")]
    # the launcher's links (extensions/panel/launcher.py): a server asks the service, with its own
    # token, which dashboards its owner may open. The service decides from the token's groups and
    # role scope, so the token may carry them; the Hub gives it only those its owner holds.
    add_service(c, {
        "name": DASHBOARDS_SERVICE,
        "url": f"http://127.0.0.1:{dashboards_port(cfg)}",
        "command": command,
        "environment": {"CARTABLE_CONFIG": str(cfg.path)},
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": list(DASHBOARDS_OAUTH_SCOPES),
        "display": False,
    }, [service_users_role("cartable-dashboards-user", DASHBOARDS_SERVICE,
                           "Open the grading dashboards (what one sees there is decided by one's groups)")],
        server_scopes=DASHBOARDS_SERVER_SCOPES, server_env={"CARTABLE_DASHBOARDS_URL": dashboards_url(cfg),
                                                           **service_host_env(cfg, "CARTABLE_DASHBOARDS_HOST",
                                                                              DASHBOARDS_SERVICE)})


LESSONS_SERVICE = "cartable-lessons"
# The Unix account lessons' kernels run as when the hub is root (cartable.core.kernel_account).
LESSONS_KERNEL_ACCOUNT = "cartable-lesson"


def lessons_port(cfg) -> int:
    return ports(cfg)["lessons"]


def lessons_url(cfg) -> str:
    """Where pupils' and teachers' servers reach the lessons service."""
    return through_proxy(cfg, LESSONS_SERVICE)


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


def lessons(c, cfg):
    """Lessons as read-only Voilà pages (cartable.extensions.lessons.service), behind the Hub's OAuth.

    Pre-started kernels: a lesson being opened keeps a pool of ``lessons.pool_size`` (default 4)
    kernels that already ran it; ``lessons.preheat`` (lesson ids, or ``all``) fills pools at start;
    see docs/lessons.md for sizing. The service runs as the hub's account; when that is root, the
    lessons' kernels drop to the unprivileged ``cartable-lesson`` account."""
    root = cfg.state_dir / "lessons"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    command = [sys.executable, "-m", "cartable.extensions.lessons.service", "--root", str(root),
               "--language", cfg["school"]["language"],
               "--preheat", ",".join(cfg["lessons"]["preheat"]) or "none",
               "--pool-size", str(cfg["lessons"]["pool_size"])]
    if os.geteuid() == 0:
        command += ["--kernel-user", _ensure_system_account(LESSONS_KERNEL_ACCOUNT)]
    env = {"CARTABLE_CONFIG": str(cfg.path)}
    for key in ("CARTABLE_COURSES", "MPLBACKEND"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    # a teacher's server publishes lessons with its own token (cartable lessons publish)
    add_service(c, {
        "name": LESSONS_SERVICE,
        "url": f"http://127.0.0.1:{lessons_port(cfg)}",
        "command": command,
        "environment": env,
        "api_token": read_secret(cfg, "lessons_token"),
        "oauth_no_confirm": True,
        "display": True,
    }, [{"name": "cartable-lessons-service",
         "description": "Read users' groups and groups' properties to decide who may open which lesson",
         "scopes": ["read:users", "list:groups", "read:groups"], "services": [LESSONS_SERVICE]},
        service_users_role("cartable-lessons-user", LESSONS_SERVICE,
                           "Open lessons (which ones is decided from one's classes and courses)")],
        server_scopes=[f"access:services!service={LESSONS_SERVICE}"],
        server_env={"CARTABLE_LESSONS_URL": lessons_url(cfg),
                    **service_host_env(cfg, "CARTABLE_LESSONS_HOST", LESSONS_SERVICE)})


LAYERS = (network, state, proxy, lifecycle, authentication, rbac, services, spawner, templates, exchange, dashboards,
          lessons)


def apply(c, cfg):
    for layer in LAYERS:
        layer(c, cfg)
    return c
