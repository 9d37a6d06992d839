"""The kernel of a lesson: an ipykernel that, when started by root, first drops to the lessons'
unprivileged account.

Lessons, and above all the lessons teachers publish, run their code in these kernels (Voilà's
pre-started and per-viewer kernels, and the low-bandwidth build). The lessons service runs as
the Hub's account (root on a production site, like the exchange service) so that it can read
the site's state; its kernels must not. Started as root, this launcher:

* reads the connection file Voilà wrote (in a private directory) and copies it into the
  kernel account's own runtime directory;
* sets a parent-death signal, ``PR_SET_NO_NEW_PRIVS`` and resource limits (address space,
  processes, file size, CPU time);
* drops every group and becomes ``$CARTABLE_LESSON_KERNEL_USER`` (it owns no file of the site:
  the lessons it runs are readable, nothing else of the state directory is);
* execs ipykernel (same process id, so Voilà can still signal and stop it).

Not root: it only applies the limits and execs ipykernel (a single-account site; see the
isolation warning of the hub).
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

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
LIMITS = {
    resource.RLIMIT_AS: 1536 * 2**20,
    resource.RLIMIT_FSIZE: 64 * 2**20,
    resource.RLIMIT_CPU: 1800,
}


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
        sys.exit("usage: python -m cartable.extensions.lessons.kernel -f CONNECTION_FILE")
    connection = argv[1]
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for kind, value in LIMITS.items():
        _limit(kind, value)
    account = os.environ.get("CARTABLE_LESSON_KERNEL_USER")
    if os.geteuid() == 0 and account:
        entry = pwd.getpwnam(account)
        runtime = Path(os.environ["CARTABLE_LESSON_KERNEL_RUNTIME"])
        data = Path(connection).read_bytes()
        fd, copy = tempfile.mkstemp(prefix="kernel-", suffix=".json", dir=runtime)
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
        del os.environ[key]  # the service's Hub token and configuration are not the lesson's
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection])


if __name__ == "__main__":
    main()
