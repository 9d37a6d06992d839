"""The sandbox one submission runs in: its own account, no network, a private scratch disk, limits.

:func:`enter` is called in the freshly forked child that will run a pupil's notebook, before
any of the pupil's code. As root it:

* moves the child into new mount and network namespaces: the network namespace holds only a
  loopback interface that is down, so every connection fails; in the mount namespace a small
  ``tmpfs`` holds everything the run may write (its size is the disk limit): the working
  directory, and private ``/tmp``, ``/var/tmp`` and ``/dev/shm`` bound from it (nothing written
  there outlives the run, nor escapes the limit); empty ``tmpfs`` are mounted over every
  hidden path (the course folder with its gradebook, sources and other submissions, the
  exchange, the site's state, the homes);
* switches to a throwaway uid/gid that owns no file and no account (``200000 +`` a slot);
* sets ``PR_SET_NO_NEW_PRIVS`` and a parent-death signal;
* applies resource limits: CPU time, address space, processes, open files, file size.

The assignment's support files are written in the working directory and linked into a
read-only folder, :data:`SUPPORT_DIR` in it, from which they are imported (a pupil's file or
package in the working directory cannot stand for them).

Without root only the resource limits apply; :attr:`Report.missing` says what could not be
applied, and the grading report and log repeat it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
UID_BASE = 200000
SUPPORT_DIR = ".cartable"
PRIVATE_TMP = (("/var/tmp", "var-tmp"), ("/dev/shm", "shm"), ("/tmp", "tmp"))  # /tmp last: it may hold the scratch

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


@dataclass(frozen=True)
class Limits:
    """What one submission may use; per notebook for CPU and memory, per cell for wall time."""

    cell_seconds: float = 30.0
    notebook_seconds: float = 120.0
    cpu_seconds: int = 60
    memory_mb: int = 768
    processes: int = 32
    open_files: int = 128
    disk_mb: int = 64
    output_kb: int = 512

    def as_dict(self) -> dict:
        return asdict(self)

    def clamped(self, maxima: dict | None = None) -> tuple[Limits, dict]:
        """These limits, none above ``maxima`` (the site's ``grading.max_limits``, else
        :data:`MAX_LIMITS`), and what was lowered: ``{key: [asked, used]}``."""
        maxima = {**MAX_LIMITS, **(maxima or {})}
        lowered = {k: [v, maxima[k]] for k, v in asdict(self).items() if k in maxima and not v <= maxima[k]}
        return replace(self, **{k: used for k, (_, used) in lowered.items()}), lowered


# The defaults of ``grading.max_limits`` in cartable/core/schema.yaml (a test keeps them equal).
MAX_LIMITS = {"cell_seconds": 120, "notebook_seconds": 600, "cpu_seconds": 300, "memory_mb": 2048,
              "processes": 64, "open_files": 256, "disk_mb": 256, "output_kb": 2048}


@dataclass
class Report:
    """What the sandbox applied, for the grading report."""

    isolated: bool = False
    uid: int | None = None
    applied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def isolation_available() -> bool:
    """True where a submission can get its own account and namespaces (running as root on Linux)."""
    return os.geteuid() == 0 and Path("/proc/self/ns/net").exists()


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount_tmpfs(target: str, options: str) -> None:
    _check(_libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()),
           f"mount tmpfs on {target}")


def _bind(source: str, target: str) -> None:
    _check(_libc.mount(source.encode(), target.encode(), None, MS_BIND, None), f"bind {target}")


def _set_limit(kind: int, value: int) -> None:
    """Soft and hard limit both: pupil code cannot raise a soft limit back up to the hard one."""
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def _address_space_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def enter(scratch: Path, slot: int, limits: Limits, hidden: list[str], files: dict[str, bytes]) -> Report:
    """Turn the current (forked) process into the sandbox; write ``files`` into the scratch dir.

    ``files`` are the assignment's support files (data, modules), written read-only; the
    scratch directory itself is writable by the sandbox account.
    """
    report = Report()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    scratch.mkdir(parents=True, exist_ok=True)
    if isolation_available():
        uid = UID_BASE + slot
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
        _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
        _mount_tmpfs(str(scratch), f"size={limits.disk_mb}m,mode=0755,nr_inodes=4096")
        for path in hidden:
            if path and os.path.isdir(path) and not str(scratch).startswith(path.rstrip("/") + "/"):
                _mount_tmpfs(path, "size=16k,mode=0555,nr_inodes=16")
        disk = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
        for sub in ("work", *(sub for _, sub in PRIVATE_TMP)):
            (scratch / sub).mkdir()
            (scratch / sub).chmod(0o1777)
        _lay_out(scratch / "work", files, lock=True)
        for target, sub in PRIVATE_TMP:
            if os.path.isdir(target):
                _bind(f"/proc/self/fd/{disk}/{sub}", target)
        # the working directory where the scratch was, which the new /tmp may have hidden
        scratch.mkdir(parents=True, exist_ok=True)
        _bind(f"/proc/self/fd/{disk}/work", str(scratch))
        os.close(disk)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        report.isolated, report.uid = True, uid
        report.applied += ["account", "network", "hidden-paths", "private-tmp", f"disk={limits.disk_mb}MB"]
    else:
        _lay_out(scratch, files, lock=False)
        report.missing += ["account", "network", "hidden-paths", "private-tmp", "disk"]
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(scratch)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_CPU, int(limits.cpu_seconds))
    _set_limit(resource.RLIMIT_AS, _address_space_now() + limits.memory_mb * 1024 * 1024)
    _set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    _set_limit(resource.RLIMIT_FSIZE, limits.disk_mb * 1024 * 1024)
    report.applied += [f"cpu={limits.cpu_seconds}s", f"memory={limits.memory_mb}MB",
                       f"open_files={limits.open_files}", f"file_size={limits.disk_mb}MB"]
    if report.isolated:
        # counted per uid: the throwaway uid runs nothing else
        _set_limit(resource.RLIMIT_NPROC, limits.processes)
        report.applied.append(f"processes={limits.processes}")
    else:
        report.missing.append("processes")
    return report


def die_with_parent() -> None:
    """In a process forked inside the sandbox: killed when its parent goes."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _lay_out(work: Path, files: dict[str, bytes], lock: bool) -> None:
    """The support files, read-only, in ``work`` and (the same files, linked) in its :data:`SUPPORT_DIR`,
    which is made read-only when the run has an account of its own (``lock``)."""
    support = work / SUPPORT_DIR
    support.mkdir()
    for rel, data in files.items():
        dest = (work / rel).resolve()
        if not str(dest).startswith(str(work.resolve()) + os.sep) or dest.is_relative_to(support.resolve()):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        dest.chmod(0o444)
        link = support / dest.relative_to(work.resolve())
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(dest, link)
    if lock:
        for d, _dirs, _files in os.walk(support):
            os.chmod(d, 0o555)
