"""Pupil servers as local processes, each under its own Unix account when root.

With ``isolation = unix`` (the default when the hub runs as root) every user gets
a Unix account ``<prefix><username>`` whose home directory, mode 0700, only they
can read; their server runs as that account. Without root every server runs as
the hub's own account and the hub says loudly that pupils are not isolated.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Bool, Enum, Integer, List, Unicode, default

from cartable.core.roles import ROLE_GROUP
from cartable.hub.limits import Cgroups, Limits

GROUP = "cartable-users"
RUNTIME_BASE = "/run/cartable"
PRIVATE_UMASK = 0o077
PR_SET_NO_NEW_PRIVS = 38


def _no_new_privileges() -> None:
    """No setuid or setgid program may raise what the server's processes are allowed."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def ensure_group(name: str) -> int:
    """The gid of the system group ``name``, made with ``groupadd --system`` if missing."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", name], capture_output=True)
        return grp.getgrnam(name).gr_gid


def running_as_root() -> bool:
    return os.geteuid() == 0


class CartableSpawner(LocalProcessSpawner):
    """A local-process spawner that makes and uses one Unix account per user."""

    isolation = Enum(["auto", "unix", "none"], "auto", config=True,
                     help="unix: one Unix account per user (needs root); none: every server runs as the hub's account, "
                          "with no isolation between pupils; auto: unix when the hub runs as root.")
    homes_dir = Unicode(config=True, help="Directory holding one home directory per user, and nothing else.")
    config_dir = Unicode(config=True, help="Directory of the Jupyter configuration users' servers read, one "
                                           "sub-directory per role (pupil, staff); readable by all, holds no secret.")
    unix_prefix = Unicode("cb-", config=True, help="Prefix of the Unix account names made for users.")
    pids_limit = Integer(512, config=True, help="Most processes and threads a user's server and kernels may have.")
    apply_limits = Bool(True, config=True,
                        help="Apply mem_limit, cpu_limit and pids_limit with Linux control groups when root.")
    language = Unicode("fr", config=True, help="Interface language of new users' JupyterLab (fr, ar, en).")
    pupil_disabled_server_extensions = List(
        Unicode(), config=True,
        help="Jupyter server extensions switched off for pupils (given on the command line, "
             "which a pupil's own config files cannot override).")
    lab_disabled_for_pupils = List(
        Unicode(),
        ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment",
         "@jupyter/nbgrader:menu",
         "@jupyterlab/apputils-extension:announcements",
         "@voila-dashboards/jupyterlab-preview", "@jupyter-notebook/lab-extension",
         "@jupyterlab/terminal-extension", "@jupyterlab/extensionmanager-extension"],
        config=True, help="JupyterLab plugins hidden from pupils.")
    server_extensions = List(
        Unicode(), ["cartable.extensions.panel"], config=True,
        help="Jupyter server extensions switched on for every user (pupils and staff).")
    lab_disabled_for_all = List(
        Unicode(), ["@jupyterlab/apputils-extension:announcements"], config=True,
        help="JupyterLab plugins hidden from everyone (the outside-news prompt).")

    @default("homes_dir")
    def _homes_default(self):
        return "/home/cartable"

    pupil_group = Unicode("cartable-pupils", config=True,
                          help="Unix group the servers and kernels of this site's pupils run as; the network "
                               "rules of the site apply to it (one group per site on a machine).")

    @property
    def isolated(self) -> bool:
        return self.isolation == "unix" or (self.isolation == "auto" and running_as_root())

    @property
    def unix_name(self) -> str:
        return (self.unix_prefix + self.user.name)[:32]

    @property
    def home(self) -> str:
        return str(Path(self.homes_dir) / self.user.name)

    def ensure_account(self) -> pwd.struct_passwd:
        """Create the user's Unix account and private home if missing; re-runnable."""
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", GROUP], check=True)
        try:
            entry = pwd.getpwnam(self.unix_name)
        except KeyError:
            Path(self.homes_dir).mkdir(parents=True, exist_ok=True)
            os.chmod(self.homes_dir, 0o711)
            subprocess.run(["useradd", "--no-create-home", "--home-dir", self.home, "--shell", "/usr/sbin/nologin",
                            "--gid", GROUP, "--comment", f"Cartable {self.user.name}", self.unix_name],
                           check=True, capture_output=True)
            entry = pwd.getpwnam(self.unix_name)
        if entry.pw_dir != self.home:
            # an account kept from another site or state directory: point it here
            subprocess.run(["usermod", "--home", self.home, self.unix_name], check=True, capture_output=True)
            entry = pwd.getpwnam(self.unix_name)
        home = Path(self.home)
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        os.chmod(home, 0o700)
        return entry

    def ensure_shared_home(self) -> None:
        Path(self.home).mkdir(parents=True, exist_ok=True)

    @property
    def is_pupil(self) -> bool:
        return any(g.name == ROLE_GROUP["pupil"] for g in self.user.groups)

    def get_args(self):
        args = super().get_args()
        # No calls from the server to the outside: no extension store, no update check.
        args += ["--LabApp.extension_manager=readonly",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                 # kernels talk to their server over Unix sockets in the private runtime folder:
                 # no kernel port on loopback for another account to reach
                 "--KernelManager.transport=ipc"]
        # « Mon cartable »: the panel's server extension (its lab extension is installed with Cartable)
        args.extend(f"--ServerApp.jpserver_extensions={ext}=True" for ext in self.server_extensions)
        if self.is_pupil:
            args.append("--LabApp.lock_all_plugins=True")
            args.extend(f"--ServerApp.jpserver_extensions={ext}=False" for ext in self.pupil_disabled_server_extensions)
            args.append("--ServerApp.terminals_enabled=False")
        return args

    def get_env(self):
        env = super().get_env()
        env["JUPYTER_CONFIG_PATH"] = str(self.role_config_dir())
        entry = pwd.getpwnam(self.unix_name) if self.isolated else None
        env["JUPYTER_RUNTIME_DIR"] = self.runtime_dir(entry)
        # no ~/.local site-packages in the server (its kernels are the user's own business)
        env["PYTHONNOUSERSITE"] = "1"
        return env

    @default("config_dir")
    def _config_dir_default(self):
        return str(Path(self.homes_dir).with_name(Path(self.homes_dir).name + "-config"))

    def role_config_dir(self) -> Path:
        """A directory of Jupyter config for this user's role: which lab plugins load."""
        role = "pupil" if self.is_pupil else "staff"
        base = Path(self.config_dir)
        d = base / role
        disabled = self.lab_disabled_for_pupils if self.is_pupil else self.lab_disabled_for_all
        page_config = d / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        tmp = page_config.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"disabledExtensions": {p: True for p in disabled}}, indent=1))
        os.chmod(tmp, 0o644)
        tmp.replace(page_config)
        for path in (base, d, page_config.parent):
            os.chmod(path, 0o755)
        return d

    def seed_lab_settings(self, uid: int | None = None, gid: int | None = None) -> None:
        """Give a new user JupyterLab in the site's language; never overwrite their choice."""
        locale = {"fr": "fr_FR", "ar": "ar_SA", "en": "en"}.get(self.language, "fr_FR")
        settings = Path(self.home) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "translation-extension"
        target = settings / "plugin.jupyterlab-settings"
        if target.exists():
            return
        settings.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"locale": locale}))
        if uid is not None:
            for path in [target, *target.parents]:
                if path == Path(self.home):
                    break
                os.chown(path, uid, gid)

    _cgroup_procs: list = []

    def prepare_limits(self) -> None:
        """Put the server in a control group of its own, or say why limits are not applied."""
        self._cgroup_procs = []
        if not self.apply_limits:
            return
        cgroups = Cgroups()
        missing = [k for k, ok in cgroups.available().items() if not ok]
        if missing:
            self.log.warning("Limits not applied to %s's server (%s): control groups not writable here",
                             self.user.name, ", ".join(missing))
        # named after the Unix account, which carries the site's prefix: two sites on one
        # machine (or two test runs) never share a group and its memory limit
        self._cgroup_procs = cgroups.prepare(self.unix_name, Limits(self.mem_limit or None, self.cpu_limit or None,
                                                                    self.pids_limit or None))

    async def start(self):
        if running_as_root() and not self.isolated:
            from cartable.core.i18n import _, bilingual

            raise RuntimeError(bilingual(_(
                "Refusing to run a user's server as root: set spawner.isolation to auto or unix in cartable.yaml.")))
        if self.isolated:
            entry = self.ensure_account()
            self.seed_lab_settings(entry.pw_uid, entry.pw_gid)
        else:
            self.ensure_shared_home()
            self.seed_lab_settings()
        if running_as_root():
            self.prepare_limits()
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        if running_as_root() and self.apply_limits:
            Cgroups().remove(self.unix_name)

    def make_preexec_fn(self, name):
        procs = list(self._cgroup_procs)
        if self.isolated:
            entry = pwd.getpwnam(self.unix_name)
            # a pupil's server and kernels run with the site's pupil group as their group: the
            # network rules (cartable.hub.network) apply to every socket they open
            gid = self.pupil_gid() if self.is_pupil else entry.pw_gid
            uid, home = entry.pw_uid, entry.pw_dir

            def preexec():
                Cgroups.join(procs)
                os.umask(PRIVATE_UMASK)
                os.setgid(gid)
                os.setgroups([gid])
                os.setuid(uid)
                _no_new_privileges()
                os.chdir(home)

            return preexec
        home = self.home

        def preexec():
            Cgroups.join(procs)
            os.umask(PRIVATE_UMASK)
            os.chdir(home)

        return preexec

    def pupil_gid(self) -> int:
        """The gid of the site's pupil group (:attr:`pupil_group`), made if missing."""
        return ensure_group(self.pupil_group)

    def runtime_dir(self, entry: pwd.struct_passwd | None = None) -> str:
        """A short private folder for the server's runtime files and its kernels' sockets
        (a Unix socket's path must stay under 108 bytes)."""
        if not running_as_root() or entry is None:
            # every server runs as the hub's account: one private folder of its own, a folder per user
            base = Path(tempfile.gettempdir()) / f"cartable-run-{os.getuid()}"
            base.mkdir(mode=0o700, exist_ok=True)
            d = base / self.user.name
            d.mkdir(mode=0o700, exist_ok=True)
            return str(d)
        base = Path(RUNTIME_BASE)
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o711)
        d = base / str(entry.pw_uid)
        d.mkdir(exist_ok=True)
        os.lchown(d, entry.pw_uid, entry.pw_gid)
        os.chmod(d, 0o700)
        return str(d)

    def user_env(self, env):
        env["USER"] = self.unix_name if self.isolated else self.user.name
        env["HOME"] = self.home
        env["SHELL"] = "/bin/bash"
        return env

    async def move_certs(self, paths):
        if not self.isolated:
            return paths
        entry = pwd.getpwnam(self.unix_name)
        out_dir = Path(self.home) / ".jupyterhub" / "jupyterhub-certs"
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True, mode=0o700)
        result = {}
        for key in ("keyfile", "certfile", "cafile"):
            target = out_dir / Path(paths[key]).name
            shutil.copy(paths[key], target)
            os.chown(target, entry.pw_uid, entry.pw_gid)
            result[key] = str(target)
        for d in (out_dir.parent, out_dir):
            os.chown(d, entry.pw_uid, entry.pw_gid)
        return result
