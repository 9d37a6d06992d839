"""Local accounts: generated passwords, argon2id hashes, lock-out after failed logins."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cartable.core.db import Credential, Database, Person, utcnow
from cartable.core.i18n import _

# No 0/O, 1/l/I: the slips are read off paper by pupils.
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_hasher = PasswordHasher()
# A hash computed once so that unknown users cost as much as known ones.
_DUMMY_HASH = _hasher.hash("cartable-timing-equaliser")


def generate_password(length: int = 10) -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(length))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class Outcome(Enum):
    OK = "ok"
    MUST_CHANGE = "must_change"
    BAD = "bad"
    LOCKED = "locked"
    INACTIVE = "inactive"


MESSAGES = {
    Outcome.BAD: _("Invalid username or password."),
    Outcome.LOCKED: _("Too many failed attempts: this account is locked for a while. Try again later or ask your school's director."),
    Outcome.INACTIVE: _("Invalid username or password."),
}


@dataclass
class Policy:
    max_failures: int = 5
    lockout_minutes: int = 15
    min_password_length: int = 8
    force_password_change: bool = True

    @classmethod
    def from_config(cls, cfg) -> Policy:
        local = cfg["auth"]["local"]
        return cls(local["max_failures"], local["lockout_minutes"], local["min_password_length"], local["force_password_change"])


def check_login(db: Database, username: str, password: str, policy: Policy, now: dt.datetime | None = None) -> Outcome:
    """Verify a login attempt and record its result (failure count, lock-out, last login)."""
    now = now or utcnow()
    with db.session() as s:
        person = s.get(Person, username)
        cred = person.credential if person is not None else None
        if person is None or cred is None:
            _verify(_DUMMY_HASH, password)
            return Outcome.BAD
        if cred.locked_until and cred.locked_until > now:
            return Outcome.LOCKED
        if not _verify(cred.password_hash, password):
            cred.failed_count += 1
            if cred.failed_count >= policy.max_failures:
                cred.locked_until = now + dt.timedelta(minutes=policy.lockout_minutes)
                cred.failed_count = 0
                return Outcome.LOCKED
            return Outcome.BAD
        if not person.active:
            return Outcome.INACTIVE
        cred.failed_count = 0
        cred.locked_until = None
        if _hasher.check_needs_rehash(cred.password_hash):
            cred.password_hash = hash_password(password)
        if cred.must_change and policy.force_password_change:
            return Outcome.MUST_CHANGE
        cred.last_login = now
        return Outcome.OK


def password_problem(new: str, confirm: str, old: str, policy: Policy) -> str | None:
    """Why ``new`` cannot be the new password (an English msgid), or None."""
    if new != confirm:
        return _("The two new passwords are different.")
    if len(new) < policy.min_password_length:
        return _("The new password is too short.")
    if new == old:
        return _("The new password must differ from the old one.")
    return None


def set_password(db: Database, username: str, password: str, must_change: bool = False) -> None:
    """Give ``username`` a new password (creating its credential), unlocking the account."""
    with db.session() as s:
        cred = s.get(Credential, username)
        if cred is None:
            cred = Credential(username=username, password_hash="")
            s.add(cred)
        cred.password_hash = hash_password(password)
        cred.must_change = must_change
        cred.failed_count = 0
        cred.locked_until = None
        cred.password_set_at = utcnow()


def unlock(db: Database, username: str) -> bool:
    with db.session() as s:
        cred = s.get(Credential, username)
        if cred is None:
            return False
        cred.failed_count = 0
        cred.locked_until = None
        return True


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
