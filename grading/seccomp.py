"""No new process from a notebook: a seccomp filter, loaded in each notebook's process.

The audit hook of :mod:`.runner` refuses ``os.fork``, ``subprocess.Popen`` and the like, but
not every way into the kernel raises an audit event (``_posixsubprocess.fork_exec`` raises
none). This filter refuses them all in the kernel, before any pupil code runs: ``fork``,
``vfork``, ``execve``, ``execveat``, and ``clone`` without ``CLONE_THREAD`` (threads keep
working: cells run in threads). ``clone3`` answers ``ENOSYS``, so that glibc falls back to
``clone``, whose flags a filter can read (those of ``clone3`` are in memory, out of its reach).

The refused calls reach the sandbox process (the notebook's parent, which runs no pupil code)
as seccomp *user notifications*: it answers ``EPERM`` and reports each as tampering. The
notification descriptor is handed to it and closed in the notebook's process before any pupil
code, so that pupil code cannot answer "go on" itself. A kernel without user notifications
(before Linux 5.0) gets the same filter answering ``EPERM`` itself, unreported.

The filter is compiled by libseccomp (Debian's ``libseccomp2``) through ``pyseccomp``, its
ctypes binding; the descriptor is served with plain ``ioctl`` calls. ``clone``'s flags are its
first argument on x86-64 and arm64, the machines Cartable runs on.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct

CLONE_THREAD = 0x00010000
REFUSED = ("fork", "vfork", "execve", "execveat")
_NOTIF_RECV = 0xC0502100  # SECCOMP_IOCTL_NOTIF_RECV, struct seccomp_notif (80 bytes)
_NOTIF_SEND = 0xC0182101  # SECCOMP_IOCTL_NOTIF_SEND, struct seccomp_notif_resp (24 bytes)
_NOTIFY_LINK = "anon_inode:seccomp notify"

try:
    import pyseccomp
except (ImportError, RuntimeError):  # RuntimeError: pyseccomp without libseccomp
    pyseccomp = None


def available() -> bool:
    return pyseccomp is not None


def _filter(action: int):
    f = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    f.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    for name in REFUSED:
        f.add_rule(action, name)
    f.add_rule(action, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    return f


class Filter:
    """Built once in the fork server; :meth:`load` in each notebook's process."""

    def __init__(self):
        self.notify = _filter(pyseccomp.NOTIFY)
        self.errno = _filter(pyseccomp.ERRNO(errno.EPERM))
        self.names = {pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, n): n for n in REFUSED + ("clone",)}

    def load(self, parent: socket.socket) -> None:
        """In the notebook's process: refuse new processes; the notification descriptor goes to
        ``parent`` (nothing is sent when this kernel has no user notifications)."""
        try:
            self.notify.load()
        except OSError:
            self.errno.load()
            return
        fd = next(int(n) for n in os.listdir("/proc/self/fd") if _link(n) == _NOTIFY_LINK)
        socket.send_fds(parent, [b"n"], [fd])
        os.close(fd)


def _link(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def receive(child: socket.socket) -> int | None:
    """In the sandbox process: the notebook's notification descriptor, or None."""
    try:
        _msg, fds, _flags, _addr = socket.recv_fds(child, 1, 1)
    except OSError:
        return None
    return fds[0] if fds else None


def serve(fd: int, pid: int, names: dict[int, str]) -> tuple[int, list[str]]:
    """Answer EPERM to every refused call of the notebook's process ``pid`` until it ends;
    return its wait status and the names of the calls refused."""
    refused: list[str] = []
    ended = os.pidfd_open(pid)  # readable once the process has ended
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(ended, select.POLLIN)
    try:
        while True:
            for which, events in poller.poll():
                if which == ended:
                    return os.waitpid(pid, 0)[1], refused
                if events & select.POLLIN:
                    name = _answer(fd, names)
                    if name and len(refused) < 50:
                        refused.append(name)
                elif events & (select.POLLHUP | select.POLLERR):
                    poller.unregister(fd)  # no process left under the filter
    finally:
        os.close(fd)
        os.close(ended)


def _answer(fd: int, names: dict[int, str]) -> str | None:
    buf = bytearray(80)
    try:
        fcntl.ioctl(fd, _NOTIF_RECV, buf)
    except OSError:  # the caller is gone
        return None
    ident, _pid, _flags, nr = struct.unpack_from("=QIIi", buf)
    try:
        fcntl.ioctl(fd, _NOTIF_SEND, struct.pack("=QqiI", ident, 0, -errno.EPERM, 0))
    except OSError:
        pass
    return names.get(nr, str(nr))
