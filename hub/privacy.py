"""What pupils must never read: private from the first byte, checked before the hub starts.

Pupils run code, so a file's mode is a security boundary. Every Cartable process that writes
site state (the hub, its services, the ``cartable`` command) sets :data:`PRIVATE_UMASK` before
its first write: databases, secrets, tokens, credentials, slips, the exchange store and the
gradebooks are born readable by their owner only. What must be shared says so with an explicit
mode where it is made (the servers' role configuration, the lessons' and dashboards' kernel
folders).

:func:`exposures` lists what a pupil could read anyway (a file made by an older version, a
``chmod`` by hand, a checkout whose course library is world-readable); the hub refuses to start
while the list is not empty, naming each path and the command that fixes it.

The state directory is ``0711``: the lessons' and dashboards' kernel accounts traverse it to
their own folders. It hides nothing by itself (names of files are public): each entry is
private by its own mode, and :func:`exposures` checks every one of them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cartable.core.i18n import _, bilingual

PRIVATE_UMASK = 0o077
STATE_DIR_MODE = 0o711
#: Entries of the state directory that others may traverse or read, and how far.
SHARED_STATE = {
    "lessons": 0o711,  # the lessons' kernel account reaches its folders (extensions/lessons)
    "dashboards": 0o711,  # the dashboards' kernel account reaches its bundles (grading/dashboards)
    "server-config": 0o755,  # every user's server reads its role's Jupyter configuration
}
#: What the shipped course library and the checkout hold that pupils must not read
#: (solutions and hidden tests, in notebooks, in the generators that wrote them, in git's objects).
CHECKOUT_PRIVATE = ("courses", "tests", ".git")
CHECKOUT = Path(__file__).resolve().parent.parent
LEGACY_HOMES = "homes"


def private_umask() -> int:
    """Make every file this process creates from now on readable by its owner only."""
    return os.umask(PRIVATE_UMASK)


@dataclass(frozen=True)
class Exposure:
    """One path pupils could read, and the fix."""

    path: Path
    what: str  # English msgid
    mode: int | None
    fix: str

    def render(self) -> str:
        if self.mode is None:
            return bilingual(_("{path} ({what}): {fix}"), path=self.path, what=self.what, fix=self.fix)
        return bilingual(_("{path} ({what}) can be read by other accounts, pupils included (mode {mode:04o}). "
                           "Fix: {fix}"), path=self.path, what=self.what, mode=self.mode, fix=self.fix)


def _too_open(path: Path, allowed: int) -> int | None:
    """The mode of ``path`` when it grants group or others more than ``allowed``, else None."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    return mode if mode & 0o077 & ~allowed else None


def _what(name: str) -> str:
    if name.endswith((".sqlite", ".sqlite-journal", ".sqlite-wal", ".sqlite-shm")):
        return _("a database")
    return {"secrets": _("secrets and tokens"), "exchange": _("the exchange store"),
            "slips": _("credential slips"), "demo": _("demo credentials")}.get(name, _("site state"))


def state_exposures(cfg) -> list[Exposure]:
    """Entries of the state directory (and the secrets inside) readable by others."""
    state = cfg.state_dir
    found = []
    mode = _too_open(state, STATE_DIR_MODE)
    if mode is not None:
        found.append(Exposure(state, _("the state directory"), mode, f"chmod 711 {state}"))
    if not state.is_dir():
        return found
    for entry in sorted(state.iterdir()):
        allowed = SHARED_STATE.get(entry.name, 0)
        mode = _too_open(entry, allowed)
        if mode is not None:
            if allowed:
                fix = f"chmod {allowed:o} {entry}"
            else:
                fix = f"chmod -R go-rwx {entry}" if entry.is_dir() else f"chmod 600 {entry}"
            found.append(Exposure(entry, _what(entry.name), mode, fix))
    secrets = state / "secrets"
    if secrets.is_dir():
        for entry in sorted(secrets.iterdir()):
            mode = _too_open(entry, 0)
            if mode is not None:
                found.append(Exposure(entry, _("a secret"), mode, f"chmod 600 {entry}"))
    return found


def homes_exposures(cfg) -> list[Exposure]:
    """Pupils' homes beside the site's state: inside the state directory, or the reverse."""
    state, homes = cfg.state_dir.resolve(), cfg.homes_dir.resolve()
    found = []
    if homes == state or state in homes.parents or homes in state.parents:
        found.append(Exposure(homes, _("pupils' homes"), None, bilingual(_(
            "pupils' homes must not share a directory with the site's databases and secrets; set "
            "spawner.homes_dir in cartable.yaml to a folder of its own such as /home/cartable"))))
    legacy = state / LEGACY_HOMES
    if legacy.is_dir() and legacy.resolve() != homes and any(legacy.iterdir()):
        found.append(Exposure(legacy, _("pupils' homes of an earlier version"), None, bilingual(_(
            "move them where the hub now keeps homes, then start again: mv {old}/* {new}/ && rmdir {old}"),
            old=legacy, new=homes)))
    return found


def library_exposures(library_root: Path | None = None, checkout: Path = CHECKOUT) -> list[Exposure]:
    """The shipped course library and the checkout's private parts, when others can read them."""
    found = []
    paths = [checkout / name for name in CHECKOUT_PRIVATE]
    if library_root is not None and Path(library_root).resolve() not in {p.resolve() for p in paths}:
        paths.append(Path(library_root))
    for path in paths:
        mode = _too_open(path, 0)
        if mode is not None:
            found.append(Exposure(path, _("solutions and hidden tests"), mode,
                                  f"make install (or: chmod -R go-rwx {path})"))
    return found


def exposures(cfg, isolated: bool) -> list[Exposure]:
    """Everything pupils could read that is not theirs. The library and the checkout only matter
    when pupils have accounts of their own (``isolated``): otherwise every server already runs
    as the hub's account."""
    found = [*homes_exposures(cfg), *state_exposures(cfg)]
    if isolated:
        from cartable.core.catalogue import default_path

        found += library_exposures(default_path().parent)
    return found


def refusal(found: list[Exposure]) -> str:
    """The message the hub prints before refusing to start."""
    head = bilingual(_("Cartable will not start: pupils could read what is not theirs."))
    return "\n".join([head, *(f"- {e.render()}" for e in found)])
