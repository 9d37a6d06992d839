"""Memory, CPU and process limits of a pupil server, with Linux control groups.

A local-process server gets a control group of its own (``cartable/<user>``) with
its memory, CPU and process-count limits; the server and every kernel it starts
live in it, so a runaway kernel is stopped there and not on the whole machine.
Both cgroup v2 (unified) and v1 hierarchies are supported. Where neither can be
written (not root, or a read-only ``/sys/fs/cgroup``) :meth:`Cgroups.available`
says so and the spawner logs that limits are not applied.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
CPU_PERIOD_US = 100_000


def parse_bytes(value: str | int | None) -> int | None:
    """``512M`` → 536870912; None or 0 for no limit."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+)([KMGT]?)", str(value).strip().upper())
    if not m:
        raise ValueError(f"not a size: {value!r}")
    return int(m.group(1)) * UNITS[m.group(2)]


@dataclass
class Limits:
    memory: int | None = None  # bytes
    cpu: float | None = None  # cores
    pids: int | None = None


def _try_write(path: Path, value: int, only_if_higher: bool = False) -> None:
    try:
        if only_if_higher and int(path.read_text()) >= value:
            return
        path.write_text(str(value))
    except (OSError, ValueError):
        pass


class Cgroups:
    """The control groups of one machine, under a parent group named ``cartable``."""

    def __init__(self, root: str | os.PathLike = "/sys/fs/cgroup", parent: str = "cartable"):
        self.root = Path(root)
        self.parent = parent
        unified = self.root / "cgroup.controllers"
        self.version = 2 if unified.exists() else 1

    # -- discovery -----------------------------------------------------------------
    def _v1(self, controller: str) -> Path:
        return self.root / controller / self.parent

    def available(self) -> dict[str, bool]:
        """Which limits can be applied here."""
        if os.geteuid() != 0:
            return {"memory": False, "cpu": False, "pids": False}
        if self.version == 2:
            controllers = (self.root / "cgroup.controllers").read_text().split()
            writable = os.access(self.root, os.W_OK)
            return {c: writable and c in controllers for c in ("memory", "cpu", "pids")}
        return {c: os.access(self.root / c, os.W_OK) for c in ("memory", "cpu", "pids")}

    # -- one server ------------------------------------------------------------------
    def prepare(self, name: str, limits: Limits) -> list[Path]:
        """Create (or update) the group of ``name``; return the ``cgroup.procs`` files to join."""
        ok = self.available()
        if self.version == 2:
            parent = self.root / self.parent
            parent.mkdir(exist_ok=True)
            wanted = [c for c in ("memory", "cpu", "pids") if ok[c]]
            for level in (self.root, parent):
                for c in wanted:
                    try:
                        (level / "cgroup.subtree_control").write_text(f"+{c}")
                    except OSError:
                        pass
            group = parent / name
            group.mkdir(exist_ok=True)
            if ok["memory"] and limits.memory:
                (group / "memory.max").write_text(str(limits.memory))
                (group / "memory.swap.max").write_text("0") if (group / "memory.swap.max").exists() else None
            if ok["cpu"] and limits.cpu:
                (group / "cpu.max").write_text(f"{int(limits.cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            if ok["pids"] and limits.pids:
                (group / "pids.max").write_text(str(limits.pids))
            return [group / "cgroup.procs"]
        procs = []
        settings = {
            "memory": [("memory.limit_in_bytes", limits.memory)],
            "cpu": [("cpu.cfs_period_us", CPU_PERIOD_US),
                    ("cpu.cfs_quota_us", int(limits.cpu * CPU_PERIOD_US) if limits.cpu else None)],
            "pids": [("pids.max", limits.pids)],
        }
        for controller, values in settings.items():
            if not ok[controller] or not any(v for _k, v in values):
                continue
            group = self._v1(controller) / name
            group.mkdir(parents=True, exist_ok=True)
            memsw = group / "memory.memsw.limit_in_bytes"
            for key, value in values:
                if not value:
                    continue
                if key == "memory.limit_in_bytes" and memsw.exists():
                    # v1 wants limit <= memsw limit at every step: raise memsw first, lower it after
                    _try_write(memsw, value, only_if_higher=True)
                    (group / key).write_text(str(value))
                    _try_write(memsw, value)
                else:
                    (group / key).write_text(str(value))
            procs.append(group / "cgroup.procs")
        return procs

    @staticmethod
    def join(procs: list[Path]) -> None:
        """Move the calling process into the groups (call in the child before exec)."""
        pid = str(os.getpid())
        for p in procs:
            with open(p, "w") as f:
                f.write(pid)

    def remove(self, name: str) -> None:
        """Remove the empty groups of ``name``; groups still holding processes stay."""
        paths = [self.root / self.parent / name] if self.version == 2 else [
            self._v1(c) / name for c in ("memory", "cpu", "pids")]
        for p in paths:
            try:
                p.rmdir()
            except OSError:
                pass

    def limits_of_pid(self, pid: int) -> dict[str, str]:
        """The limits in force for a process (for tests and the admin's checks)."""
        return self.limits_of(Path(f"/proc/{pid}/cgroup").read_text())

    def limits_of(self, proc_cgroup: str) -> dict[str, str]:
        """The limits of the groups listed in a ``/proc/<pid>/cgroup`` text."""
        out = {}
        for line in filter(None, proc_cgroup.splitlines()):
            _hid, controllers, path = line.split(":", 2)
            if self.version == 2 and controllers == "":
                base = self.root / path.lstrip("/")
                for key in ("memory.max", "cpu.max", "pids.max"):
                    if (base / key).exists():
                        out[key] = (base / key).read_text().strip()
            for c, key in (("memory", "memory.limit_in_bytes"), ("cpu", "cpu.cfs_quota_us"), ("pids", "pids.max")):
                if c in controllers.split(","):
                    f = self.root / c / path.lstrip("/") / key
                    if f.exists():
                        out[key] = f.read_text().strip()
        return out
