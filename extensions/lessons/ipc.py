"""The lessons' kernel manager: kernels talk over Unix sockets, each kernel with names of its own.

Over TCP, a kernel's ports are picked by the service and bound later by the kernel: on a busy
machine another process can take one in between, and the kernel then waits forever (seen on
the shared test machine as a lesson page that never finishes). Over IPC, jupyter_client picks
socket names by counting existing files, which races when several kernels start at once in one
process (a class opening a lesson); giving every kernel its own prefix removes both races.
The sockets live in the kernels' runtime directory (``$CARTABLE_LESSON_IPC_DIR``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import default


def ipc_prefix() -> str:
    base = os.environ.get("CARTABLE_LESSON_IPC_DIR") or tempfile.gettempdir()
    return str(Path(base) / f"k{uuid.uuid4().hex[:12]}")


class LessonKernelManager(ServerKernelManager):
    """Voilà's kernels of the lessons service (``MappingKernelManager.kernel_manager_class``)."""

    @default("transport")
    def _default_transport(self):
        return "ipc"

    @default("ip")
    def _default_ip(self):
        return ipc_prefix()


def kernel_manager(kernel_name: str) -> AsyncKernelManager:
    """A kernel manager for one execution outside Voilà (the low-bandwidth build); asynchronous,
    as nbclient expects (a blocking one would block its loop waiting for output)."""
    return AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=ipc_prefix())


def patch_channel_polling() -> None:
    """Wait for kernel messages in slices of a second, re-checking the socket each time.

    Under a rush (many lesson kernels executing at once in one Voilà process) a page could wait
    forever for an ``execute_reply`` that had arrived: the wait is a single ``poll()`` without
    timeout on a zmq.asyncio socket (jupyter_client's ``AsyncZMQSocketChannel.get_msg``), whose
    wake-up can be missed. Polling in slices and asking the socket for ``zmq.EVENTS`` (which
    re-reads its state) recovers such a message within a second. Same results otherwise."""
    import time
    from queue import Empty

    import zmq
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel, "_cartable_patched", False):
        return

    async def get_msg(self, timeout: float | None = None):
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            ready = await self.socket.poll(int(left * 1000))
            if not ready and self.socket.get(zmq.EVENTS) & zmq.POLLIN:
                ready = True
            if ready:
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    AsyncZMQSocketChannel.get_msg = get_msg
    AsyncZMQSocketChannel._cartable_patched = True
