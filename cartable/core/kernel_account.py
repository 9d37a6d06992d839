"""Kernels of the Hub-managed services that drop to an unprivileged account of their own.

The lessons service (:mod:`cartable.extensions.lessons.service`) and the dashboards service
(:mod:`cartable.grading.dashboards.service`) run as the Hub's account (root on a production site)
so that they can read the site's state; the kernels they start must not. Each service gives its
kernels a system account of its own (declared by its service spec, made by :func:`cartable.hub.layers._ensure_system_account`):
``cartable-lesson`` runs teachers' published code, ``cartable-dashboard`` reads one viewer's rows
of grades, and neither can read what the other holds.

Two sides, one module:

* the service calls :func:`kernel_account` once at start: it prepares the account's runtime
  directory and puts ``$CARTABLE_KERNEL_USER`` and ``$CARTABLE_KERNEL_RUNTIME`` in the
  environment its kernels get;
* every kernel is started through this module (the kernelspecs ``cartable-lesson`` and
  ``cartable-dashboard``: ``python -m cartable.core.kernel_account -f {connection_file}``).
  Started as root, :func:`main`:

  - reads the connection file the service wrote (in a private directory) and copies it into the
    account's runtime directory;
  - sets a parent-death signal, ``PR_SET_NO_NEW_PRIVS`` and resource limits (address space,
    processes, file size, CPU time);
  - drops every group and becomes ``$CARTABLE_KERNEL_USER``;
  - removes the service's Hub token (``JUPYTERHUB_*``) and ``CARTABLE_CONFIG`` from the
    environment;
  - execs ipykernel (same process id, so the service can still signal and stop it).

Not root (a developer's machine, a single-account site): it only applies the limits and execs
ipykernel, which runs as the service's account (see the isolation warning of the hub).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pwd
import resource
import signal
import sys
import tempfile
from pathlib import Path

USER_ENV = "CARTABLE_KERNEL_USER"
RUNTIME_ENV = "CARTABLE_KERNEL_RUNTIME"
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
LIMITS = {
    resource.RLIMIT_AS: 1536 * 2**20,
    resource.RLIMIT_FSIZE: 64 * 2**20,
    resource.RLIMIT_CPU: 1800,
}


# --------------------------------------------------------------------------- the service's side


def kernel_account(runtime: Path, account: str | None) -> Path:
    """Prepare the kernels' runtime directory ``runtime`` and the environment the launcher reads.

    As root with an account: ``runtime`` belongs to the account (0700), emptied of the connection
    files and sockets of a previous run, and ``$CARTABLE_KERNEL_USER``/``$CARTABLE_KERNEL_RUNTIME``
    are set. Otherwise the kernels run as the service's account: the variables are removed.
    Returns ``runtime``."""
    runtime = Path(runtime)
    runtime.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not account:
        os.environ.pop(USER_ENV, None)
        os.environ.pop(RUNTIME_ENV, None)
        return runtime
    entry = pwd.getpwnam(account)
    for p in [runtime, *runtime.rglob("*")]:
        os.lchown(p, entry.pw_uid, entry.pw_gid)
    os.chmod(runtime, 0o700)
    for stale in [*runtime.glob("kernel-*.json"), *runtime.glob("k*-[0-9]*")]:
        stale.unlink(missing_ok=True)
    os.environ[USER_ENV] = account
    os.environ[RUNTIME_ENV] = str(runtime)
    return runtime


def account_env() -> dict[str, str]:
    """The launcher's variables, as :func:`kernel_account` set them (for a service that builds its
    kernels' environment from scratch)."""
    return {k: os.environ[k] for k in (USER_ENV, RUNTIME_ENV) if os.environ.get(k)}


# --------------------------------------------------------------------------- the launcher


def _limit(kind, value):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        pass


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] != "-f":
        sys.exit("usage: python -m cartable.core.kernel_account -f CONNECTION_FILE")
    connection = argv[1]
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for kind, value in LIMITS.items():
        _limit(kind, value)
    account = os.environ.get(USER_ENV)
    if os.geteuid() == 0 and account:
        entry = pwd.getpwnam(account)
        runtime = Path(os.environ[RUNTIME_ENV])
        data = Path(connection).read_bytes()
        # named after the service's file (kernel-<id>.json): which process is which kernel shows
        name = Path(connection).stem.removeprefix("kernel-")[:64]
        fd, copy = tempfile.mkstemp(prefix=f"kernel-{name}-", suffix=".json", dir=runtime)
        os.write(fd, data)
        os.fchown(fd, entry.pw_uid, entry.pw_gid)
        os.close(fd)
        connection = copy
        _limit(resource.RLIMIT_NPROC, 4096)
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
        os.environ.update(HOME=str(runtime), USER=account, LOGNAME=account, MPLCONFIGDIR=str(runtime / "mpl"),
                          JUPYTER_RUNTIME_DIR=str(runtime), IPYTHONDIR=str(runtime / "ipython"))
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # again: changing uid cleared it
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    for key in [k for k in os.environ if k.startswith("JUPYTERHUB_") or k == "CARTABLE_CONFIG"]:
        del os.environ[key]  # the service's Hub token and configuration are not the kernel's
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection])


if __name__ == "__main__":
    main()
