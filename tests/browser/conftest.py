"""Browser tests: the `browser` and `shot` fixtures (Playwright driving Debian's Chromium, headless;
screenshots in tests/artifacts/) are in tests/conftest.py, shared with tests/lab."""
