"""What tests share: the harness (a real hub, a browser-like client, PostgreSQL), helpers per area
and the « Mon cartable » school. ``tests`` is on ``sys.path`` through pytest's ``pythonpath``."""
