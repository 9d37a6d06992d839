"""The network rules of a site (cartable.hub.network), checked by nftables itself."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from support.site import site_config

from cartable.hub import network

ROOT_WITH_NFT = os.geteuid() == 0 and shutil.which("nft")


def site(tmp_path, **net):
    return site_config(tmp_path, hub={"port": 9000}, spawner={"homes_dir": str(tmp_path / "homes")},
                       network={"pupil_group": "cbp-unit", **net})


@pytest.mark.parametrize("entry,expected", [
    ("pypi.org", ("pypi.org", None)), ("pypi.org:443", ("pypi.org", 443)), ("10.0.0.0/8", ("10.0.0.0/8", None)),
    ("10.1.2.3/32:8080", ("10.1.2.3/32", 8080)), ("[2001:db8::1]:443", ("2001:db8::1", 443)),
    ("2001:db8::/32", ("2001:db8::/32", None)),
])
def test_allow_entries(entry, expected):
    assert network.parse_allow(entry) == expected


def test_the_plan_opens_three_local_ports_and_the_allow_list(tmp_path, monkeypatch):
    monkeypatch.setattr(network, "name_servers", lambda: ["192.0.2.53"])
    cfg = site(tmp_path, allow=["198.51.100.7:443", "203.0.113.0/24"])
    plan = network.plan(cfg, 4242)
    assert plan.table == "cartable_cbp_unit"
    assert sorted(set(plan.local_ports)) == [9000, 9002, 9003]  # public, hub API, exchange
    assert plan.allow == [("198.51.100.7/32", 443), ("203.0.113.0/24", None), ("192.0.2.53/32", 53)]
    rules = plan.ruleset()
    assert "meta skgid 4242 jump pupil" in rules
    assert "tcp dport { 9000, 9002, 9003 } accept" in rules
    assert rules.rstrip().splitlines()[-3].strip() == "reject"  # everything else, last
    # no allow-list: no name server either
    assert network.plan(site(tmp_path), 4242).allow == []


@pytest.mark.skipif(not ROOT_WITH_NFT, reason="nftables checks and loads rules as root only")
def test_nftables_loads_the_rules_and_they_are_removed(tmp_path):
    cfg = site(tmp_path, allow=["198.51.100.7:443"])
    r = subprocess.run(["nft", "-c", "-f", "-"], input=network.plan(cfg, 4242).ruleset(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        assert network.apply(cfg) is None
        listed = subprocess.run(["nft", "list", "table", "inet", "cartable_cbp_unit"], capture_output=True, text=True)
        assert "198.51.100.7 meta l4proto { tcp, udp } th dport 443 accept" in listed.stdout
        assert network.apply(cfg) is None  # again: replaced, not doubled
        listed2 = subprocess.run(["nft", "list", "table", "inet", "cartable_cbp_unit"], capture_output=True, text=True)
        assert listed2.stdout.count("jump pupil") == 1
    finally:
        network.remove("cbp-unit")
        subprocess.run(["groupdel", "cbp-unit"], capture_output=True)
    assert subprocess.run(["nft", "list", "table", "inet", "cartable_cbp_unit"], capture_output=True).returncode != 0


def test_disabled_says_so(tmp_path):
    assert "network.isolation" in network.apply(site(tmp_path, isolation="disabled"))


@pytest.mark.parametrize("url,weak", [
    ("postgresql://postgres@127.0.0.1:5432/cartable", True), ("postgresql+psycopg://c:secret@db/cartable", False),
    ("postgresql:///cartable?host=/var/run/postgresql", False), ("redis://127.0.0.1:6379/0", True),
    ("redis://:secret@127.0.0.1:6379/0", False), ("amqp://guest@127.0.0.1//", True), ("sqlite:///x.sqlite", False),
    (None, False),
])
def test_database_and_broker_urls_without_a_password_are_warned_of(url, weak):
    from cartable.core.connections import password_warning, without_password

    assert without_password(url) is weak
    message = password_warning("hub.database_url", url)
    assert (message is not None) is weak
    if weak:
        assert "sans mot de passe" in message and "without a password" in message
