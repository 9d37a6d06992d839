"""« Mon cartable » in a real browser (Debian's Chromium, headless): a pupil logs in, opens the
panel, fetches and submits an assignment — in French, then another pupil in Arabic (panel
laid out right-to-left); a teacher collects and posts an announcement; pupils see an
announcement unread, open it with the keyboard, and it is read (French, Arabic); a pupil
publishes an exposé and opens its page, where no script runs; the launcher shows a pupil
their lessons and their own dashboard only, in French and in Arabic, each opening in a new tab.
Screenshots in tests/artifacts/lab-*.png."""

from __future__ import annotations

import json
import re

import pytest
from support.lab_school import ARABIC_DIGITS, MINE, OPEN, lab_page, open_panel, set_language

pytestmark = pytest.mark.hub
def cycle(page, panel, labels: dict, shot, name: str):
    item = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"]')
    assert item.get_attribute("data-state") == "todo"
    assert item.locator(".jp-Cartable-badge").inner_text() == labels["todo"]
    deadline = item.locator(".jp-Cartable-deadline").inner_text().translate(ARABIC_DIGITS)
    assert "2099" in deadline and labels["month"] in deadline, deadline
    shot(page, f"lab-{name}-todo")
    # keyboard: the fetch button takes the focus and Enter presses it
    fetch = item.get_by_role("button", name=labels["fetch"])
    fetch.focus()
    page.keyboard.press("Enter")
    item.locator('[data-state="fetched"]').or_(panel.locator(
        f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"][data-state="fetched"]')).first.wait_for(
        timeout=60_000)
    # the fetched notebook is open in the lab
    page.locator(f'.lm-TabBar-tab[title*="{OPEN}.ipynb"], .lm-TabBar-tabLabel:text("{OPEN}.ipynb")').first.wait_for(
        timeout=60_000)
    item = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"]')
    item.get_by_role("button", name=labels["submit"], exact=True).click()
    submitted = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"][data-state="submitted"]')
    submitted.wait_for(timeout=60_000)
    assert submitted.locator(".jp-Cartable-badge").inner_text() == labels["submitted"]
    receipt = submitted.locator(".jp-Cartable-receipt")
    sha = receipt.locator("code").get_attribute("title")
    assert re.fullmatch(r"[0-9a-f]{64}", sha)
    assert labels["receipt"] in receipt.inner_text()
    status = panel.locator(".jp-Cartable-status").inner_text()
    assert sha in status and labels["received"] in status, status
    # "My grades": the assignment submitted, no practice score (not released with --practice)
    row = panel.locator(f'section[data-course="{MINE}"] .jp-Cartable-grades tr[data-assignment="{OPEN}"]')
    assert row.locator("td").all_inner_texts() == [labels["submitted"], "—"]
    shot(page, f"lab-{name}-submitted")
    return sha


def test_pupil_fetches_and_submits_in_french(school, browser, shot):
    pupil = school.pupils()[3]
    page, panel = open_panel(browser, school, pupil, "fr-FR")
    assert panel.get_attribute("dir") == "ltr"
    assert panel.locator("h2").inner_text() == "Mon cartable"
    cycle(page, panel, {"todo": "À faire", "fetch": "Récupérer", "submit": "Rendre", "submitted": "Rendu",
                        "receipt": "accusé de réception", "received": "Rendu reçu", "month": "juin"}, shot, "pupil-fr")
    page.close()


def test_pupil_fetches_and_submits_in_arabic_right_to_left(school, browser, shot):
    pupil = school.pupils()[4]
    set_language(school, pupil, "ar_SA")
    page, panel = open_panel(browser, school, pupil, "ar-SA")
    assert panel.get_attribute("dir") == "rtl"
    assert panel.get_attribute("lang") == "ar-SA"
    assert panel.locator("h2").inner_text() == "محفظتي"
    # the text runs from the right: the header's title sits right of its refresh button
    title = panel.locator("h2").bounding_box()
    refresh = panel.locator(".jp-Cartable-refresh").bounding_box()
    assert title["x"] > refresh["x"]
    cycle(page, panel, {"todo": "للإنجاز", "fetch": "استلام", "submit": "تسليم", "submitted": "مُسلَّم",
                        "receipt": "وصل الاستلام", "received": "تم استلام التسليم", "month": "يونيو"}, shot, "pupil-ar")
    page.close()


def test_teacher_sees_the_class_and_collects_in_french(school, browser, shot):
    from support.lab_school import TEACHER, THEIRS

    page = browser.new_page(locale="fr-FR", viewport={"width": 1400, "height": 1000})
    page.goto(f"{school.hub.url}/hub/login")
    page.fill("#username_input", TEACHER)
    page.fill("#password_input", school.accounts.password(TEACHER))
    page.click("#login_submit")
    page.goto(f"{school.hub.url}/user/{TEACHER}/lab")
    tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="cartable-panel"]')
    tab.wait_for(timeout=90_000)
    tab.click()
    panel = page.locator("#cartable-panel")
    item = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"]')
    item.wait_for(timeout=60_000)
    assert panel.locator(f'section[data-course="{THEIRS}"]').count() == 1
    rows = item.locator("tbody tr")
    assert rows.count() == len(school.pupils())
    headers = item.locator("thead th").all_inner_texts()
    assert headers == ["Élève", "Récupéré", "Rendu", "Délai propre"], headers
    item.get_by_role("button", name="Ramasser").click()
    status = panel.locator(".jp-Cartable-status")
    status.get_by_text(re.compile(r"\d+ copies ramassées")).wait_for(timeout=120_000)
    shot(page, "lab-teacher-fr")
    # the teacher posts an announcement to the other class from the panel's form
    box = panel.locator(f'section[data-course="{THEIRS}"] section.jp-Cartable-announcements')
    box.get_by_label("Titre").fill("Devoir surveillé")
    box.get_by_label("Texte").fill("Mardi, 2 heures.\nApportez une calculatrice.")
    box.get_by_role("button", name="Publier l'annonce").click()
    status.get_by_text("Annonce publiée.").wait_for(timeout=60_000)
    posted = panel.locator(f'section[data-course="{THEIRS}"] li.jp-Cartable-announcement', has_text="Devoir surveillé")
    posted.wait_for(timeout=30_000)
    assert posted.locator(".jp-Cartable-unread").count() == 0  # teachers have no unread state
    r = school.panel(school.pupils("2BPC1")[2], "GET", "overview")
    theirs = next(c for c in r.json()["courses"] if c["course_id"] == THEIRS)
    assert [(a["title"], a["body"], a["read"]) for a in theirs["announcements"] if a["title"] == "Devoir surveillé"] \
        == [("Devoir surveillé", "Mardi, 2 heures.\nApportez une calculatrice.", False)]
    posted.scroll_into_view_if_needed()
    shot(page, "lab-teacher-announce-fr")
    page.close()


SCRIPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def announcement_read_once_opened(browser, school, shot, pupil: str, locale: str, labels: dict, name: str):
    """The teacher posts; the pupil sees it unread, opens it with the keyboard, it is read for good."""
    from support.lab_school import TEACHER

    title = f"{labels['title']} <b>jeudi</b>"
    r = school.panel(TEACHER, "POST", "announce", json={"course_id": MINE, "title": title,
                                                         "body": f"{labels['body']}\n{SCRIPT}"})
    assert r.status_code == 200, r.text[:300]
    ann_id = r.json()["announcement_id"]
    page, panel = open_panel(browser, school, pupil, locale)
    section = panel.locator(f'section[data-course="{MINE}"] section.jp-Cartable-announcements')
    assert section.locator("h4").first.inner_text().startswith(labels["heading"])
    item = section.locator(f'li[data-announcement="{ann_id}"]')
    item.wait_for(timeout=30_000)
    assert item.get_attribute("data-read") == "false"
    assert item.locator(".jp-Cartable-unread").inner_text() == labels["unread"]
    count = section.locator(".jp-Cartable-unread-count")
    assert count.is_visible() and re.search(labels["count"], count.inner_text()), count.inner_text()
    toggle = item.get_by_role("button", name=title)  # the title, shown as typed: text, not markup
    assert toggle.inner_text() == title and toggle.get_attribute("aria-expanded") == "false"
    body = item.locator(".jp-Cartable-announcement-body")
    assert body.is_hidden()
    item.scroll_into_view_if_needed()
    shot(page, f"lab-announcement-{name}-unread")

    toggle.focus()
    page.keyboard.press("Enter")
    body.wait_for(state="visible", timeout=10_000)
    panel.locator(f'li[data-announcement="{ann_id}"][data-read="true"]').wait_for(timeout=30_000)
    assert toggle.get_attribute("aria-expanded") == "true"
    assert item.locator(".jp-Cartable-unread").count() == 0
    # the script of the text is shown as text and never ran
    assert SCRIPT in body.inner_text() and labels["body"] in body.inner_text()
    assert body.locator("script, img").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, f"lab-announcement-{name}-read")

    # read for good: the server keeps it
    panel.locator(".jp-Cartable-refresh").click()
    panel.locator(f'li[data-announcement="{ann_id}"][data-read="true"]').wait_for(timeout=30_000)
    r = school.panel(pupil, "GET", "overview")
    course = next(c for c in r.json()["courses"] if c["course_id"] == MINE)
    assert next(a for a in course["announcements"] if a["announcement_id"] == ann_id)["read"] is True
    return page, panel


def test_announcement_unread_then_read_in_french(school, browser, shot):
    page, panel = announcement_read_once_opened(
        browser, school, shot, school.pupils()[3], "fr-FR",
        {"title": "Sortie au musée", "body": "Rendez-vous à 8 h devant le lycée.", "heading": "Annonces",
         "unread": "Non lue", "count": r"^\d+ non lues?$"}, "fr")
    assert panel.get_attribute("dir") == "ltr"
    page.close()


def test_announcement_unread_then_read_in_arabic(school, browser, shot):
    pupil = school.pupils()[4]
    set_language(school, pupil, "ar_SA")
    page, panel = announcement_read_once_opened(
        browser, school, shot, pupil, "ar-SA",
        {"title": "زيارة المتحف", "body": "الموعد على الساعة الثامنة أمام الثانوية.", "heading": "الإعلانات",
         "unread": "غير مقروء", "count": r"^[0-9٠-٩]+ غير مقروءة?$"}, "ar")
    assert panel.get_attribute("dir") == "rtl"
    page.close()


def test_pupil_publishes_an_expose_and_opens_it_without_scripts(school, browser, shot):
    """A pupil publishes the notebook from the panel's form; the page opens in a tab of its own,
    with the notebook's outputs, and the script of an output never runs (sandbox policy)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    pupil = school.pupils()[5]
    nb = new_notebook(cells=[
        new_markdown_cell("# Le nombre d'or"),
        new_code_cell("print((1 + 5 ** 0.5) / 2)", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="1.618033988749895\n")]),
        new_code_cell("HTML(...)", execution_count=2,
                      outputs=[new_output("display_data", data={"text/html": SCRIPT, "text/plain": "<HTML>"})]),
    ])
    br = school.login(pupil)
    r = br.server_api("PUT", "/contents/nombre-or.ipynb",
                      json={"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))})
    assert r.status_code in (200, 201), r.text[:300]
    page, panel = open_panel(browser, school, pupil, "fr-FR")
    box = panel.locator(f'section[data-course="{MINE}"] section.jp-Cartable-exposes')
    box.get_by_label("Notebook").fill("nombre-or.ipynb")
    box.get_by_label("Titre").fill("Le nombre d'or <i>φ</i>")
    box.get_by_role("button", name="Publier pour la classe").click()
    panel.locator(".jp-Cartable-status").get_by_text("Exposé publié pour la classe.").wait_for(timeout=60_000)
    section = panel.locator(f'section[data-course="{MINE}"] section.jp-Cartable-exposes')
    link = section.get_by_role("link", name="Le nombre d'or <i>φ</i>")
    link.wait_for(timeout=30_000)
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    item = section.locator("li.jp-Cartable-expose", has_text="Le nombre d'or <i>φ</i>")
    assert item.get_by_role("button", name="Retirer").count() == 1  # its author may withdraw it
    item.scroll_into_view_if_needed()
    shot(page, "lab-expose-fr-published")
    with page.context.expect_page() as opened:
        link.click()
    expose = opened.value
    expose.wait_for_load_state()
    expose.get_by_text("1.618033988749895").wait_for(timeout=30_000)
    assert "Le nombre d" in expose.content(), expose.content()[:2000]
    assert expose.evaluate("window.__pwned") is None
    shot(expose, "lab-expose-fr-page")
    expose.close()
    page.close()


def launcher_cards(browser, school, shot, pupil: str, locale: str, labels: dict, name: str):
    """The pupil's launcher: « Cartable » (all lessons, their progress) and one card per lesson;
    no other role's dashboard; a card opens its page in a new tab, without this window."""
    page = lab_page(browser, school, pupil, locale)
    page.locator("#jp-main-dock-panel").wait_for(timeout=90_000)
    launcher = page.locator(".jp-Launcher:visible")
    page.wait_for_timeout(1500)  # the restored layout
    if not launcher.count():
        page.locator("#jp-main-dock-panel .lm-TabBar-addButton").first.click()
    cartable = launcher.locator(f'.jp-LauncherCard[data-category="{labels["cartable"]}"]')
    cartable.nth(1).wait_for(timeout=60_000)
    titles = launcher.locator(".jp-Launcher-sectionTitle").all_inner_texts()
    assert labels["cartable"] in titles and labels["lessons"] in titles, titles
    assert cartable.locator(".jp-LauncherCard-label").all_inner_texts() == [labels["all"], labels["progress"]]
    lessons = launcher.locator(f'.jp-LauncherCard[data-category="{labels["lessons"]}"]')
    names = lessons.locator(".jp-LauncherCard-label").all_inner_texts()
    assert labels["suites"] in names and 4 <= len(names) <= 16, names
    # a pupil's launcher never lists a teacher's, a director's or an inspector's dashboard
    every = launcher.locator(".jp-LauncherCard-label").all_inner_texts()
    assert not set(labels["others"]) & set(every), every
    card = lessons.filter(has_text=labels["suites"]).first
    assert card.get_attribute("title") == labels["caption"]
    launcher.scroll_into_view_if_needed()
    shot(page, f"lab-launcher-{name}")
    # a new tab, not a frame of the lab; the page it opens cannot reach back (noopener)
    with page.context.expect_page() as opened:
        cartable.filter(has_text=labels["all"]).click()
    tab = opened.value
    tab.wait_for_load_state()
    tab.locator("#cartable-lessons-library").wait_for(timeout=60_000)
    assert "/services/cartable-lessons/" in tab.url
    assert tab.evaluate("window.opener") is None
    assert f"/user/{pupil}/lab" in page.url and page.locator("iframe[src*='/services/']").count() == 0
    tab.close()
    page.close()


def test_pupil_launcher_in_french(school, browser, shot):
    launcher_cards(browser, school, shot, school.pupils()[3], "fr-FR", {
        "cartable": "Cartable", "lessons": "Leçons", "all": "Toutes les leçons", "progress": "Ma progression",
        "suites": "Suites numériques", "caption": "Leçon : Suites numériques (s'ouvre dans un nouvel onglet)",
        "others": ["Mes classes", "Mon établissement", "Inspection", "My classes", "My school"]}, "fr")


def test_pupil_launcher_in_arabic(school, browser, shot):
    pupil = school.pupils()[4]
    set_language(school, pupil, "ar_SA")
    launcher_cards(browser, school, shot, pupil, "ar-SA", {
        "cartable": "المحفظة", "lessons": "الدروس", "all": "كل الدروس", "progress": "تقدمي",
        "suites": "المتتاليات العددية", "caption": "درس: المتتاليات العددية (يُفتح في علامة تبويب جديدة)",
        "others": ["أقسامي", "مؤسستي", "التفتيش", "Mes classes", "Mon établissement", "Inspection"]}, "ar")
