"""What a pupil and a teacher see, in a real browser: the French login page, a pupil's
JupyterLab in French with no teacher tools and no news prompt, a teacher's classes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    from support.harness import Hub

    hub = Hub(tmp_path_factory.mktemp("browser"))
    accounts = hub.import_roster()
    hub.start()
    yield hub, accounts
    hub.stop()


def login(page, hub, account):
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", account["username"])
    page.fill("#password_input", account["password"])
    page.click("#login_submit")


def test_pupil_lands_in_french_jupyterlab_without_teacher_tools(school, browser, shot):
    hub, accounts = school
    pupil = accounts.of("pupil")[0]
    page = browser.new_page(locale="fr-FR")
    page.goto(f"{hub.url}/hub/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#login_submit").get_attribute("value") == "Se connecter"
    shot(page, "login-fr")
    login(page, hub, pupil)
    page.wait_for_url(f"**/user/{pupil['username']}/lab**", timeout=120_000, wait_until="commit")
    menubar = page.locator("#jp-menu-panel")
    menubar.get_by_text("Fichier", exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # let late plugins add their menus, if any
    labels = menubar.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    shot(page, "pupil-lab-fr")
    assert "Fichier" in labels and "Édition" in labels, labels
    assert not any("nbgrader" in label.lower() for label in labels), labels
    # no outside-news prompt
    assert page.get_by_text("news", exact=False).count() == 0
    assert page.get_by_text("actualités", exact=False).count() == 0
    page.close()


def test_teacher_home_lists_classes(school, browser, shot):
    hub, accounts = school
    teacher = accounts.of("teacher")[0]
    page = browser.new_page(locale="fr-FR")
    login(page, hub, teacher)
    page.wait_for_load_state()
    page.goto(f"{hub.url}/hub/home")
    rows = page.locator("#cartable-courses tbody tr")
    assert rows.count() == len(teacher["class"].split(";"))
    assert "Mes classes" in page.content()
    assert page.locator("#cartable-name").inner_text() == "Karim Bennani"
    shot(page, "teacher-home-fr")
    page.close()
