"""The fork server: the kernel machinery imported once, a fresh sandboxed process per notebook.

Stock ``nbgrader autograde`` starts a Jupyter kernel per notebook (about a second of the
1.5 s it spends on one). The fork server starts once, with an empty environment (no token,
no password, nothing in ``/proc/self/environ``), imports IPython, numpy, matplotlib and the
course helpers, creates the interactive shell, takes the :class:`~.runner.TrustedState`
snapshot, and listens on a Unix socket that only its owner may open.

For each request (one notebook of one submission) it draws a fresh key, sends it to the
client, and forks the *sandbox* child: :func:`~.sandbox.enter`, then :func:`~.runner.run`.
The child writes its messages straight to the client's connection, each signed with that
key (which only the child's supervising thread holds: pupil code that writes to the socket
cannot forge a message). The client, :class:`ForkServer`, enforces the wall-time limits: a
cell that overruns is interrupted by the child itself; if the child stops answering, the
client kills it. A process is never reused: the next notebook is a new fork of the clean
server.
"""

from __future__ import annotations

import argparse
import marshal
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_hmac = __import__("_hashlib").hmac_digest
_write = os.write
_dumps = marshal.dumps
HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 * 1024 * 1024
PRELOAD = ("numpy", "numpy.testing", "numpy.linalg", "matplotlib", "matplotlib.pyplot",
           "cartable.grading.check", "math", "cmath", "statistics", "fractions", "decimal", "numbers", "random",
           "hashlib", "json", "re", "itertools", "functools", "collections")


# ----------------------------------------------------------------------------- framing


def _send_frame(sock: socket.socket, obj) -> None:
    data = marshal.dumps(obj)
    sock.sendall(HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _recv_frame(sock: socket.socket):
    (n,) = HEADER.unpack(_recv_exact(sock, HEADER.size))
    if n > MAX_MESSAGE * 4:
        raise ValueError("frame too large")
    return marshal.loads(_recv_exact(sock, n))


# ----------------------------------------------------------------------------- server side


def _preload():
    os.environ.setdefault("MPLBACKEND", "Agg")
    # no entry for the working directory: it is the pupil's, imports must not look there first
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a library missing on this site is simply not preloaded
            pass
    from cartable.core import i18n

    for lang in i18n.LANGUAGES:
        i18n.translations(lang)  # compiled once here rather than in every notebook's process
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    c = Config()
    c.HistoryManager.enabled = False
    c.InteractiveShell.colors = "nocolor"
    c.InteractiveShell.autocall = 0
    c.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=c)
    try:
        shell.run_line_magic("matplotlib", "inline")
    except Exception:  # without matplotlib_inline, plots are simply not captured
        pass
    from cartable.grading import runner

    # each cell runs in a thread of its own: a small stack leaves room under the memory limit
    threading.stack_size(4 * 1024 * 1024)
    state = runner.TrustedState()
    from cartable.grading import seccomp

    return shell, state, runner.Supervisor(shell, state, {}), seccomp.Filter() if seccomp.available() else None


def serve(path: str) -> None:
    # what this server makes (scratch, support files) is for the sandbox accounts to read, whatever
    # umask its caller had (the ``cartable`` command's is 077); its socket is made 0600 below
    os.umask(0o022)
    shell, state, supervisor, procfilter = _preload()
    import gc

    gc.collect()
    gc.freeze()  # what the server imported stays out of every child's collections: fewer copied pages
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    server.bind(path)
    os.umask(old)
    server.listen(64)
    Path(path).parent.chmod(0o711)  # the sandbox account must reach scratch/; the socket stays 0600
    scratch = Path(path).parent / "scratch"
    scratch.mkdir(mode=0o711, exist_ok=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)
    parent = os.getppid()
    server.settimeout(5)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # whoever started us is gone (killed without stopping us)
                return
            continue
        conn.settimeout(None)
        try:
            req = _recv_frame(conn)
            key = os.urandom(32)
            _send_frame(conn, {"type": "key", "key": key})
        except (EOFError, OSError, ValueError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _child(conn, key, req, scratch, supervisor, procfilter)
            finally:
                os._exit(0)
        conn.close()


def _child(conn: socket.socket, key: bytes, req: dict, shared_scratch: Path, supervisor, procfilter) -> None:
    """The sandboxed process of one submission: its frames go straight to the client, signed."""
    from cartable.grading import runner, sandbox, seccomp

    limits = sandbox.Limits(**req.get("limits", {}))
    w = conn.detach()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, w)
    os.closerange(w + 1, 1024)

    def send(msg: dict) -> None:
        data = _dumps(msg)
        if len(data) > MAX_MESSAGE:
            data = _dumps({"type": msg.get("type"), "index": msg.get("index"), "outputs": [
                {"output_type": "error", "ename": "OutputTooLarge", "evalue": "sortie trop grande / output too large",
                 "traceback": []}], "tampering": []})
        payload = _hmac(key, data, "sha256") + data
        frame = HEADER.pack(len(payload)) + payload
        while frame:
            frame = frame[_write(w, frame):]

    send({"type": "pid", "pid": os.getpid()})
    # With namespaces every child mounts its own tmpfs on the same directory; without, a
    # directory of its own, removed by the client when the child is gone.
    scratch = shared_scratch if sandbox.isolation_available() else Path(tempfile.mkdtemp(dir=shared_scratch))
    try:
        report = sandbox.enter(scratch, os.getpid(), limits, list(req.get("hidden", [])), dict(req.get("files", {})))
    except Exception as e:  # no sandbox, no grading
        send({"type": "sandbox-failed", "error": f"{type(e).__name__}: {e}"})
        return
    (report.applied if procfilter else report.missing).append("no-new-process")
    os.environ.clear()
    os.environ.update({"HOME": str(scratch), "LANG": "C.UTF-8", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                       "PATH": "/usr/bin:/bin", "TMPDIR": str(scratch)})
    # the support files after the standard library and site-packages, the working directory last
    sys.path += [str(scratch / sandbox.SUPPORT_DIR), str(scratch)]
    supervisor.state.path[:] = sys.path  # what every test cell starts from
    send({"type": "sandbox", "isolated": report.isolated, "uid": report.uid, "applied": report.applied,
          "missing": report.missing, "scratch": None if report.isolated else str(scratch)})
    # One process per notebook, forked from this sandboxed one (the sandbox is set up once per
    # submission); this process runs none of the pupil's code: it answers the notebook's refused
    # system calls (:mod:`.seccomp`) and waits for each notebook in turn.
    for nb in req["notebooks"]:
        name = nb["name"]
        here, there = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            sandbox.die_with_parent()
            here.close()

            def send_nb(msg: dict, _name=name) -> None:
                msg["notebook"] = _name
                send(msg)

            send_nb({"type": "pid", "pid": os.getpid()})
            if procfilter:
                try:
                    procfilter.load(there)
                except Exception as e:  # no filter, no pupil code
                    send({"type": "sandbox-failed", "error": f"seccomp: {type(e).__name__}: {e}"})
                    os._exit(1)
            there.close()
            runner.run(list(nb["cells"]), send_nb, limits.as_dict(), supervisor.state, supervisor)
            os._exit(0)
        there.close()
        fd = seccomp.receive(here) if procfilter else None
        here.close()
        status, refused = seccomp.serve(fd, pid, procfilter.names) if fd is not None else (os.waitpid(pid, 0)[1], [])
        send({"type": "notebook-end", "notebook": name, "status": _describe(status), "refused": refused})
    send({"type": "all-done"})


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"


# ----------------------------------------------------------------------------- client side


@dataclass
class Execution:
    """What came back for one notebook."""

    cells: dict[int, dict] = field(default_factory=dict)
    tampering: list[str] = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)
    stopped: str | None = None
    status: str = ""
    completed: bool = False
    error: str | None = None


class ForkServer:
    """Starts and talks to one fork server; safe to use from several threads at once."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="cartable-forkserver-"))
        self.path = str(self.dir / "socket")
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def start(self, timeout: float = 60) -> ForkServer:
        with self.lock:
            if self.proc and self.proc.poll() is None:
                return self
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.dir),
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.dir / "mpl"), "PYTHONDONTWRITEBYTECODE": "1"}
            self.proc = subprocess.Popen([sys.executable, "-m", "cartable.grading.forkserver", "--socket", self.path],
                                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, cwd=str(self.dir))
            line = self.proc.stdout.readline()
            if line.strip() != "ready":
                err = self.proc.stderr.read()[-3000:] if self.proc.poll() is not None else ""
                raise RuntimeError(f"the grading fork server did not start: {line!r} {err}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def run(self, cells: list[dict], limits: dict, files: dict[str, bytes] | None = None,
            hidden: list[str] | None = None) -> Execution:
        """Run one notebook in a fresh sandboxed fork."""
        return self.run_many([("", cells)], limits, files, hidden)[""]

    def run_many(self, notebooks: list[tuple[str, list[dict]]], limits: dict, files: dict[str, bytes] | None = None,
                 hidden: list[str] | None = None) -> dict[str, Execution]:
        """Run the notebooks of one submission: one sandbox, a fresh process per notebook.

        The wall-time limits are enforced from here: a cell that overruns is interrupted by its
        process itself; if that process stops answering, it is killed and the next notebook runs.
        """
        from cartable.grading.sandbox import Limits

        lim = Limits(**limits)
        results = {name: Execution() for name, _ in notebooks}
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        child = current = None
        ex = None
        start = time.monotonic()
        cell_deadline = end = start + lim.notebook_seconds + 30
        all_done = False
        sandbox_info: dict = {}
        try:
            sock.connect(self.path)
            sock.settimeout(60)
            _send_frame(sock, {"notebooks": [{"name": n, "cells": c} for n, c in notebooks], "limits": limits,
                               "files": files or {}, "hidden": hidden or []})
            key = _recv_frame(sock)["key"]
            while True:
                timeout = min(cell_deadline, end) - time.monotonic()
                if timeout <= 0:
                    if ex is not None:
                        ex.stopped = "timeout"
                    if current:
                        _kill(current)
                        current = None
                        cell_deadline = end = time.monotonic() + 30  # the sandbox goes on with the next one
                        continue
                    break
                sock.settimeout(timeout)
                try:
                    (n,) = HEADER.unpack(_recv_exact(sock, HEADER.size))
                    if n > MAX_MESSAGE + 64:
                        raise ValueError("frame too large")
                    payload = _recv_exact(sock, n)
                except TimeoutError:
                    continue
                msg = self._verify(payload, key)
                if msg is None:
                    for r in results.values():
                        if not r.completed:
                            r.tampering.append("forged message")
                    break
                kind = msg.get("type")
                if "notebook" in msg:
                    ex = results.get(msg["notebook"])
                    if ex is None:
                        break
                if kind == "pid":
                    if "notebook" in msg:
                        current = msg.get("pid")
                        ex.sandbox = sandbox_info
                        cell_deadline = time.monotonic() + lim.cell_seconds + 10
                        end = time.monotonic() + lim.notebook_seconds + 10
                    else:
                        child = msg.get("pid")
                elif kind == "start":
                    cell_deadline = time.monotonic() + lim.cell_seconds + 10
                elif kind == "cell":
                    ex.cells[msg["index"]] = msg
                    ex.tampering += [t for t in msg.get("tampering", []) if isinstance(t, str)]
                elif kind == "sandbox":
                    sandbox_info = msg
                elif kind == "sandbox-failed":
                    for r in results.values():
                        r.error = msg.get("error")
                    break
                elif kind == "stopped":
                    ex.stopped = msg.get("reason")
                elif kind == "done":
                    ex.completed = True
                elif kind == "notebook-end":
                    ex.status = msg.get("status", "")
                    ex.tampering += [f"process refused by the kernel: {r}" for r in msg.get("refused", [])
                                     if isinstance(r, str)]
                    current, ex = None, None
                    cell_deadline = end = time.monotonic() + 30
                elif kind == "all-done":
                    all_done = True
                    break
        except (EOFError, ConnectionError, OSError, ValueError) as e:
            if not isinstance(e, EOFError):
                for r in results.values():
                    if not r.completed:
                        r.error = r.error or f"{type(e).__name__}: {e}"
        finally:
            sock.close()
            for pid in (current, child):
                if pid and not all_done:
                    _kill(pid)
            scratch = sandbox_info.get("scratch")
            if scratch and scratch.startswith(str(self.dir) + "/"):
                shutil.rmtree(scratch, ignore_errors=True)
        for r in results.values():
            r.sandbox = r.sandbox or sandbox_info
            if not r.completed and not r.status:
                r.status = "stopped"
        return results

    @staticmethod
    def _verify(payload: bytes, key: bytes):
        """A child's frame is ``HMAC || marshal``; anything else is a forgery."""
        mac, data = payload[:32], payload[32:]
        if len(mac) != 32 or _hmac(key, data, "sha256") != mac:
            return None
        try:
            msg = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return msg if isinstance(msg, dict) else None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--socket", required=True)
    args = p.parse_args(argv)
    serve(args.socket)


if __name__ == "__main__":
    main()
