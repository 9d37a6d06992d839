import pytest
from argon2 import PasswordHasher

from cartable.hub import accounts


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    """Still argon2id, with cheap parameters so that unit tests run quickly
    (the hub tests keep the production parameters)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
