"""The grading part's Hub services (entry points of the group ``cartable.services``,
docs/services.md): the assignment exchange and the grading dashboards."""

from __future__ import annotations

import json
import os
import sys

from cartable.core import roles
from cartable.core.services import (
    PORT_OFFSETS,
    ServiceSpec,
    UsersRole,
    port,
    service_env,
    service_host_env,
    through_proxy,
)

EXCHANGE_SERVICE = "cartable-exchange"
#: The module the Hub runs as the exchange service (``python -m``): the one place naming it.
EXCHANGE_MODULE = "cartable.grading.exchange.service"

DASHBOARDS_SERVICE = "cartable-dashboards"
DASHBOARDS_MODULE = "cartable.grading.dashboards.service"
# The Unix account dashboards' kernels run as when the hub is root: not the lessons' one, whose
# kernels run teachers' published code and must not read the dashboards' rows of grades.
DASHBOARDS_KERNEL_ACCOUNT = "cartable-dashboard"
#: What the dashboards service may learn of a viewer from their OAuth token: their groups and their
#: role's Cartable scope (the Hub gives only the subset the viewer holds).
DASHBOARDS_OAUTH_SCOPES = ["read:users:groups!user", *(roles.cartable_scope(r) for r in roles.ROLE_SCOPES)]
#: What a user's server token adds to reach the dashboards service for the launcher's links.
DASHBOARDS_SERVER_SCOPES = [f"access:services!service={DASHBOARDS_SERVICE}", *DASHBOARDS_OAUTH_SCOPES]


def exchange_url(cfg) -> str:
    return cfg["exchange"]["url"] or f"http://127.0.0.1:{port(cfg, 'exchange')}/services/{EXCHANGE_SERVICE}/"


def role_server_files() -> dict[str, dict[str, str]]:
    """The Jupyter config users' servers read, per role folder: nbgrader through the exchange
    service; staff servers' CSP and sanitized nbconvert."""
    from cartable.grading.exchange.nbgrader import NBGRADER_CONFIG, STAFF_SERVER_CONFIG

    return {"pupil": {"nbgrader_config.py": NBGRADER_CONFIG},
            "staff": {"nbgrader_config.py": NBGRADER_CONFIG,
                      "jupyter_server_config.json": json.dumps(STAFF_SERVER_CONFIG, indent=1)}}


def exchange(cfg) -> ServiceSpec:
    """The exchange service and what servers need to use it (nbgrader's exchange client)."""
    return ServiceSpec(
        name=EXCHANGE_SERVICE,
        command=[sys.executable, "-m", EXCHANGE_MODULE],
        port_offset=PORT_OFFSETS["exchange"],
        environment=service_env(cfg),
        hub_options={"display": False},
        users_role=UsersRole("cartable-exchange-user",
                             "Use the assignment exchange (what one may do there is decided by the roster)"),
        server_scopes=(f"access:services!service={EXCHANGE_SERVICE}",),
        server_env={"CARTABLE_EXCHANGE_URL": exchange_url(cfg), "CARTABLE_TIMEZONE": cfg["school"]["timezone"]},
        server_files=role_server_files(),
    )


def dashboards_url(cfg) -> str:
    """Where pupils' and teachers' servers reach the dashboards service."""
    return through_proxy(cfg, DASHBOARDS_SERVICE)


def dashboards(cfg) -> ServiceSpec:
    """The dashboards service: Voilà behind the Hub's OAuth.

    The service runs as the hub's account; when that is root, the dashboards' kernels drop to the
    unprivileged ``cartable-dashboard`` account. The launcher's links (extensions/panel/launcher.py):
    a server asks the service, with its own token, which dashboards its owner may open. The service
    decides from the token's groups and role scope, so the token may carry them; the Hub gives it
    only those its owner holds."""
    root = os.geteuid() == 0
    command = [sys.executable, "-m", DASHBOARDS_MODULE]
    if root:
        command += ["--kernel-user", DASHBOARDS_KERNEL_ACCOUNT]
    return ServiceSpec(
        name=DASHBOARDS_SERVICE,
        command=command,
        port_offset=PORT_OFFSETS["dashboards"],
        environment=service_env(cfg),
        hub_options={"oauth_no_confirm": True, "oauth_client_allowed_scopes": list(DASHBOARDS_OAUTH_SCOPES),
                     "display": False},
        users_role=UsersRole("cartable-dashboards-user",
                             "Open the grading dashboards (what one sees there is decided by one's groups)"),
        server_scopes=tuple(DASHBOARDS_SERVER_SCOPES),
        server_env={"CARTABLE_DASHBOARDS_URL": dashboards_url(cfg),
                    **service_host_env(cfg, "CARTABLE_DASHBOARDS_HOST", DASHBOARDS_SERVICE)},
        system_account=(DASHBOARDS_KERNEL_ACCOUNT, "Cartable dashboards' kernels") if root else None,
    )
