"""What pupils' code may connect to: the hub, the proxy's public port, the exchange, and nothing else.

Pupils' servers and kernels run with the site's pupil group as their group
(``network.pupil_group``, :class:`cartable.hub.spawner.CartableSpawner`); kernels talk to their
server over Unix sockets in a private folder. The hub, when it runs as root, loads an nftables
table of its own (``inet cartable_<group>``) whose output chain sends every packet of a socket
owned by that group through these rules:

* replies on connections others opened (the proxy reaching the pupil's server) pass;
* to an address of this machine: only the proxy's public port, the hub's API port and the
  exchange's port; PostgreSQL, Redis, RabbitMQ, the proxy's API, the services' own ports and
  other users' servers are refused with a reset;
* elsewhere: only what ``network.allow`` lists (``host``, ``host:port``, ``address/prefix``,
  ``address/prefix:port``; host names are resolved when the hub starts, and the machine's name
  servers are then allowed on port 53 so pupils can resolve them); everything else is refused.

The grading sandbox needs none of this: each submission runs in a network namespace of its own
with no interface up (:mod:`cartable.grading.sandbox`). Unix-domain sockets are not network
traffic: services on this machine that listen on one must ask for a password (docs/security.md).
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from urllib.parse import urlparse

from cartable.core.i18n import _, bilingual

TABLE_PREFIX = "cartable_"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}


@dataclass
class Plan:
    """The rules of one site: the pupil group, the local ports, the outside destinations."""

    table: str
    gid: int
    local_ports: list[int]
    allow: list[tuple[str, int | None]] = field(default_factory=list)  # (address or network, port)

    def ruleset(self) -> str:
        """The nftables script that replaces the site's table."""
        rules = [
            "ct state established,related accept",
            f"fib daddr type local tcp dport {{ {', '.join(map(str, sorted(set(self.local_ports))))} }} accept",
            "fib daddr type local meta l4proto tcp reject with tcp reset",
            "fib daddr type local reject",
        ]
        for net, port in self.allow:
            family = "ip6" if ipaddress.ip_network(net, strict=False).version == 6 else "ip"
            dport = f" meta l4proto {{ tcp, udp }} th dport {port}" if port else ""
            rules.append(f"{family} daddr {net}{dport} accept")
        rules += ["meta l4proto tcp reject with tcp reset", "reject"]
        body = "\n".join(f"    {r}" for r in rules)
        return (f"table inet {self.table}\ndelete table inet {self.table}\n"
                f"table inet {self.table} {{\n"
                f"  chain output {{\n    type filter hook output priority filter; policy accept;\n"
                f"    meta skgid {self.gid} jump pupil\n  }}\n"
                f"  chain pupil {{\n{body}\n  }}\n}}\n")


def table_name(group: str) -> str:
    return TABLE_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", group)


def parse_allow(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``net/prefix[:port]``, ``[v6]:port`` → (host or network, port)."""
    m = re.fullmatch(r"\[([0-9a-fA-F:./]+)\](?::(\d+))?", entry)
    if m:
        return m.group(1), int(m.group(2)) if m.group(2) else None
    if entry.count(":") > 1:  # a bare IPv6 address or network
        return entry, None
    host, _sep, port = entry.partition(":")
    return host, int(port) if port else None


def resolve(host: str) -> list[str]:
    """The addresses (as /32 or /128 networks) of ``host``, or the network itself."""
    try:
        return [str(ipaddress.ip_network(host, strict=False))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(ipaddress.ip_network(info[4][0])) for info in infos})


def name_servers(path: str = "/etc/resolv.conf") -> list[str]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return []
    return [parts[1] for parts in (line.split() for line in lines) if len(parts) >= 2 and parts[0] == "nameserver"]


def plan(cfg, gid: int) -> Plan:
    """The rules ``cfg`` asks for, with host names resolved now."""
    from cartable.hub.layers import exchange_url, ports

    p = ports(cfg)
    local = [p["public"], p["hub"], p["exchange"]]
    allow: list[tuple[str, int | None]] = []
    ex = urlparse(exchange_url(cfg))
    if ex.hostname not in LOCAL_HOSTS:
        allow += [(net, ex.port or (443 if ex.scheme == "https" else 80)) for net in resolve(ex.hostname)]
    elif ex.port:
        local.append(ex.port)
    hosts = [parse_allow(e) for e in cfg["network"]["allow"]]
    for host, port in hosts:
        allow += [(net, port) for net in resolve(host)]
    if hosts:
        allow += [(str(ipaddress.ip_network(ns)), 53) for ns in name_servers()]
    return Plan(table_name(cfg["network"]["pupil_group"]), gid, local, allow)


def _nft(script: str | None = None, *args: str) -> subprocess.CompletedProcess:
    cmd = [shutil.which("nft") or "nft", *args] + (["-f", "-"] if script is not None else [])
    return subprocess.run(cmd, input=script, capture_output=True, text=True)


def apply(cfg) -> str | None:
    """Load the site's rules; return None when they are in force, else the (bilingual) reason."""
    import os

    from cartable.hub.spawner import ensure_group

    if cfg["network"]["isolation"] == "disabled":
        return bilingual(_("network.isolation is disabled in cartable.yaml: pupils' code may connect to "
                           "every service of this machine and to the Internet."))
    if os.geteuid() != 0:
        return bilingual(_("The hub is not root: pupils' code may connect to every service of this machine "
                           "(PostgreSQL, Redis, other servers). Run as root to restrict it."))
    if not shutil.which("nft"):
        return bilingual(_("nftables is missing (the nft command): pupils' code may connect to every service "
                           "of this machine. Install it (apt-get install nftables, or make install)."))
    try:
        rules = plan(cfg, ensure_group(cfg["network"]["pupil_group"])).ruleset()
    except (OSError, ValueError, KeyError) as e:
        return bilingual(_("The network rules could not be prepared ({error}): check network.allow in "
                           "cartable.yaml."), error=e)
    r = _nft(rules)
    if r.returncode != 0:
        return bilingual(_("nftables refused the network rules ({error}): pupils' code may connect to every "
                           "service of this machine."), error=r.stderr.strip()[:500])
    return None


def remove(group: str) -> None:
    """Drop the rules of the site whose pupil group is ``group`` (tests, uninstalling)."""
    if shutil.which("nft"):
        _nft(None, "delete", "table", "inet", table_name(group))
