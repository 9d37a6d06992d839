"""What every Hub-managed service's ``main()`` does the same way.

- :func:`setup_logging`: one log format for every service (the Hub's own, one line each);
- :func:`from_env`: where the service listens and its URL prefix, from the variables JupyterHub
  gives a managed service (``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_SERVICE_PREFIX``,
  ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``), with fallbacks for a service started by hand;
- :func:`on_stop`: SIGTERM (how the Hub stops its services) and SIGINT run a stop callback, by
  default stopping the current Tornado loop.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

LOG_FORMAT = "[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)


@dataclass(frozen=True)
class ServiceEnv:
    """Where a service listens (``ip``, ``port``), its URL and its prefix (``/services/<name>/``),
    and the Hub's API with the service's token (empty when not run by the Hub)."""

    url: str
    ip: str
    port: int | None
    prefix: str
    api_url: str
    api_token: str


def from_env(name: str, default_port: int, port: int | None = None) -> ServiceEnv:
    """The service ``name``'s :class:`ServiceEnv`. ``port`` (a ``--port`` option) wins over the
    Hub's URL; ``default_port`` is used when neither is given."""
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:{port or default_port}"))
    return ServiceEnv(url=url.geturl(), ip=url.hostname or "127.0.0.1", port=port or url.port,
                      prefix=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{name}/"),
                      api_url=os.environ.get("JUPYTERHUB_API_URL", ""),
                      api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""))


def stop_loop(loop=None) -> Callable[[], None]:
    """A stop callback ending the Tornado loop ``loop`` (default: the current one)."""
    from tornado import ioloop

    loop = loop or ioloop.IOLoop.current()
    return lambda: loop.add_callback_from_signal(loop.stop)


def on_stop(callback: Callable[[], None] | None = None, signals=(signal.SIGTERM, signal.SIGINT)) -> None:
    """Run ``callback`` (default: :func:`stop_loop`) on SIGTERM and SIGINT."""
    callback = callback or stop_loop()
    for sig in signals:
        signal.signal(sig, lambda *_: callback())
