"""Grading dashboards: who may see what, the data each viewer gets, and the views themselves.

Four modules, used by two processes:

- :mod:`~cartable.grading.dashboards.access` (who sees what): :func:`viewer_from_model` turns
  the Hub's user model (from the viewer's OAuth token: name, groups, scopes) into a
  :class:`~cartable.grading.dashboards.access.Viewer`, and
  :func:`~cartable.grading.dashboards.access.visible_rows` keeps the rows that viewer may see;
- :mod:`~cartable.grading.dashboards.data` (the **service**'s data):
  :class:`~cartable.grading.dashboards.data.GradeStore` keeps every course's gradebook (SQLite or
  PostgreSQL, as the course folder's config names it, read without running it) in one tidy table
  (re-read when a SQLite file changes, a PostgreSQL database at most every ``max_age`` seconds);
  :func:`~cartable.grading.dashboards.data.write_bundle` writes, for one page view, the rows that
  viewer may see into a private folder;
- :mod:`~cartable.grading.dashboards.views` (the **kernel** Voilà starts for that page):
  :func:`~cartable.grading.dashboards.views.show` reads that folder (its path is in the kernel's
  environment, set by the service, never by the browser) and displays the dashboard: widgets,
  matplotlib plots, HTML tables in which every text is escaped;
- :mod:`~cartable.grading.dashboards.service`: the dashboards service itself
  (``python -m cartable.grading.dashboards.service``).

This package imports none of them: a dashboard's kernel loads the views (and what they need) only.
``docs/dashboards.md`` describes each dashboard and the decisions.
"""
