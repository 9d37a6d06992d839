"""``hub.subdomain_host``: each user's server on a host name of its own, in Chromium on a real hub.

Chromium resolves every ``*.localhost`` name to loopback, so a wildcard name needs no DNS here:
the site is ``http://cartable.localhost:<port>``, a pupil's server
``http://<pupil>.cartable.localhost:<port>/user/<pupil>/``."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import yaml
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("subdomains"))
    data = yaml.safe_load(hub.config_path.read_text())
    data["hub"]["subdomain_host"] = f"http://cartable.localhost:{hub.port}"
    hub.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    accounts = hub.import_roster()
    hub.start()
    yield hub, accounts
    hub.stop()


def login(browser, hub, who) -> tuple:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    base = f"http://cartable.localhost:{hub.port}"
    page.goto(f"{base}/hub/login")
    page.fill("input[name=username]", who["username"])
    page.fill("input[name=password]", who["password"])
    page.click("[type=submit]")
    page.wait_for_url(f"http://{who['username']}.cartable.localhost:{hub.port}/user/{who['username']}/lab*",
                      timeout=180_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    return context, page


def test_each_users_server_has_an_origin_of_its_own(site, browser, shot):
    hub, accounts = site
    pupil, teacher = accounts.of("pupil")[0], accounts.of("teacher")[0]
    ctx_p, page_p = login(browser, hub, pupil)
    ctx_t, page_t = login(browser, hub, teacher)
    try:
        origin_p = page_p.evaluate("location.origin")
        origin_t = page_t.evaluate("location.origin")
        assert origin_p == f"http://{pupil['username']}.cartable.localhost:{hub.port}"
        assert origin_t == f"http://{teacher['username']}.cartable.localhost:{hub.port}"
        # a script on the pupil's origin cannot read what the teacher's server answers
        result = page_p.evaluate("""async (url) => {
            try { const r = await fetch(url, {credentials: 'include'}); return 'read ' + r.status + ' ' + (await r.text()).slice(0, 40); }
            catch (e) { return 'blocked'; } }""", f"{origin_t}/user/{teacher['username']}/api/contents")
        assert result == "blocked", result
        # the pupil's server still reaches the lessons and dashboards through the proxy (Host routing)
        launcher = page_p.evaluate("""async (url) => {
            const r = await fetch(url, {headers: {'X-XSRFToken': document.cookie.replace(/.*_xsrf=([^;]*).*/, '$1')}});
            return await r.text(); }""", f"{origin_p}/user/{pupil['username']}/api/cartable/launcher?lang=fr")
        data = json.loads(launcher)
        assert data["lessons"]["available"] and data["lessons"]["items"], launcher[:500]
        assert data["dashboards"]["available"], launcher[:500]
        shot(page_p, "subdomain-pupil-lab")
    finally:
        ctx_p.close()
        ctx_t.close()
