"""« Mon cartable »: the Jupyter server extension behind the JupyterLab side panel.

The panel (``extensions/lab``, built into ``labextension/`` here) talks only to this
server extension, under ``<base_url>api/cartable/``; the extension talks to the exchange
service with the server's own Hub token (``$JUPYTERHUB_API_TOKEN``) through
:class:`cartable.grading.exchange.client.ExchangeClient`, and runs nbgrader's
ExchangeFactory fetch/submit as the server's owner. The browser never reaches the
exchange itself. Its translations (domain ``cartable_lab``) are in ``locale/``, found by
JupyterLab through the ``jupyterlab.locale`` entry point. See ``docs/lab.md``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
LAB_EXTENSION = "@cartable/lab"
DOMAIN = "cartable_lab"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": LAB_EXTENSION}]


def _jupyter_server_extension_points():
    return [{"module": "cartable.extensions.panel"}]


def _load_jupyter_server_extension(server_app):
    from cartable.extensions.panel.handlers import setup_handlers

    setup_handlers(server_app.web_app, server_app.root_dir)
    server_app.log.info("Mon cartable: handlers under %sapi/cartable/", server_app.web_app.settings["base_url"])


load_jupyter_server_extension = _load_jupyter_server_extension
