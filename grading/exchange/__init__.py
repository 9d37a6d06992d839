"""The assignment exchange between pupils' servers and teachers (docs/exchange.md).

- :mod:`.protocol`: what both sides agree on (manifests, refusals, quotas), no database;
- :mod:`.store`: the service's files and tables (in Cartable's one metadata);
- :mod:`.handlers` and :mod:`.service`: the Hub-managed REST service
  (``python -m cartable.grading.exchange.service``);
- :mod:`.client`: the one HTTP client of the service (the panel, ``cartable course``, nbgrader);
- :mod:`.nbgrader`: nbgrader's Exchange plug-ins, over the client.
"""
