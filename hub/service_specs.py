"""The hub's own services (entry points of the group ``cartable.services``, docs/services.md):
the roster sync, the idle culler and the timetable's pre-start."""

from __future__ import annotations

import sys

from cartable.core import roles
from cartable.core.services import ServiceSpec, service_env

SYNC_SERVICE = "cartable-sync"
PRESTART_SERVICE = "cartable-prestart"
CULLER_SERVICE = "cartable-idle-culler"


def sync(cfg) -> ServiceSpec:
    """Keeps the Hub's users and groups equal to the roster (:mod:`cartable.hub.sync`). With
    OpenID Connect the provider's claims set users and groups at each login (manage_groups): there
    is no roster to sync, and no sync service."""
    return ServiceSpec(
        name=SYNC_SERVICE,
        command=[sys.executable, "-m", "cartable.hub.sync", "--loop"],
        environment=service_env(cfg),
        api_token_secret="sync_token",
        role=SYNC_SERVICE,
        role_description="Keeps the Hub's users and groups equal to Cartable's roster",
        scopes=("admin:users", "admin:groups", "admin:servers", "list:users", "read:users"),
        enabled=lambda cfg: cfg["auth"]["method"] == "local",
    )


def idle_culler(cfg) -> ServiceSpec:
    """Stops idle pupil servers (jupyterhub-idle-culler), when ``spawner.idle_timeout`` is set."""
    idle = cfg["spawner"]["idle_timeout"]
    return ServiceSpec(
        name=CULLER_SERVICE,
        command=[sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle}"],
        environment=service_env(cfg),
        role=CULLER_SERVICE,
        role_description="Stops idle pupil servers",
        scopes=("list:users", "read:users:activity", "read:servers", "delete:servers"),
        enabled=lambda cfg: bool(cfg["spawner"]["idle_timeout"]),
    )


def prestart(cfg) -> ServiceSpec:
    """Starts a class's pupils' servers before its lesson (:mod:`cartable.hub.prestart`), when
    the site has a timetable."""
    return ServiceSpec(
        name=PRESTART_SERVICE,
        command=[sys.executable, "-m", "cartable.hub.prestart"],
        environment=service_env(cfg),
        role=PRESTART_SERVICE,
        role_description="Starts the pupils' servers of a class before its lesson (the timetable)",
        scopes=("read:groups", f"servers!group={roles.ROLE_GROUP['pupil']}"),
        enabled=lambda cfg: bool(cfg["timetable"]["slots"]),
    )
