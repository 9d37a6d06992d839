"""The lessons service's spec (entry point ``lessons`` of the group ``cartable.services``,
docs/services.md)."""

from __future__ import annotations

import os
import sys

from cartable.core.services import (
    PORT_OFFSETS,
    ServiceSpec,
    UsersRole,
    forwarded_env,
    service_env,
    service_host_env,
    through_proxy,
)
from cartable.extensions.lessons import SERVICE_NAME

LESSONS_SERVICE = SERVICE_NAME
LESSONS_MODULE = "cartable.extensions.lessons.service"
# The Unix account lessons' kernels run as when the hub is root (cartable.core.kernel_account).
LESSONS_KERNEL_ACCOUNT = "cartable-lesson"


def lessons_url(cfg) -> str:
    """Where pupils' and teachers' servers reach the lessons service."""
    return through_proxy(cfg, LESSONS_SERVICE)


def spec(cfg) -> ServiceSpec:
    """Lessons as read-only Voilà pages, behind the Hub's OAuth.

    Pre-started kernels: a lesson being opened keeps a pool of ``lessons.pool_size`` (default 4)
    kernels that already ran it; ``lessons.preheat`` (lesson ids, or ``all``) fills pools at start;
    see docs/lessons.md for sizing. The service runs as the hub's account; when that is root, the
    lessons' kernels drop to the unprivileged ``cartable-lesson`` account. A teacher's server
    publishes lessons with its own token (cartable lessons publish)."""
    root_dir = cfg.state_dir / "lessons"
    root = os.geteuid() == 0
    command = [sys.executable, "-m", LESSONS_MODULE, "--root", str(root_dir),
               "--language", cfg["school"]["language"],
               "--preheat", ",".join(cfg["lessons"]["preheat"]) or "none",
               "--pool-size", str(cfg["lessons"]["pool_size"])]
    if root:
        command += ["--kernel-user", LESSONS_KERNEL_ACCOUNT]
    return ServiceSpec(
        name=LESSONS_SERVICE,
        command=command,
        port_offset=PORT_OFFSETS["lessons"],
        environment={**service_env(cfg), **forwarded_env("CARTABLE_COURSES", "MPLBACKEND")},
        api_token_secret="lessons_token",
        hub_options={"oauth_no_confirm": True, "display": True},
        role="cartable-lessons-service",
        role_description="Read users' groups and groups' properties to decide who may open which lesson",
        scopes=("read:users", "list:groups", "read:groups"),
        users_role=UsersRole("cartable-lessons-user",
                             "Open lessons (which ones is decided from one's classes and courses)"),
        server_scopes=(f"access:services!service={LESSONS_SERVICE}",),
        server_env={"CARTABLE_LESSONS_URL": lessons_url(cfg),
                    **service_host_env(cfg, "CARTABLE_LESSONS_HOST", LESSONS_SERVICE)},
        system_account=(LESSONS_KERNEL_ACCOUNT, "Cartable lessons' kernels") if root else None,
        state_dirs={str(root_dir): 0o711},
    )
