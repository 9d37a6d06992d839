"""A teacher's whole cycle in « Mon cartable », in a real browser (Debian's Chromium, headless),
in French and in Arabic (right-to-left): release an assignment of the course's ``source/``
folder with the deadline picker (a date in the past refused first), see the pupils'
submissions in the roster, give one pupil more time (shown in the roster), collect, autograde
with the progress bar, return the feedback, post an announcement. Then the accessibility of
the panel: axe-core's rules on the panel's subtree (teacher and pupil), and the keyboard alone
(Tab reaches every control in order with a visible focus, Enter and Space activate).
Screenshots in tests/artifacts/lab-teacher-*.png."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from support.lab_school import ARABIC_DIGITS, MINE, OPEN, TEACHER, open_panel, put_source, set_language, show_panel

pytestmark = pytest.mark.hub
TZ = zoneinfo.ZoneInfo("Africa/Casablanca")
AXE = Path(__file__).resolve().parents[2] / "extensions" / "lab" / "node_modules" / "axe-core" / "axe.min.js"
# what "every control has an accessible name, the structure is sound" means, in axe-core's rules
AXE_RULES = ["button-name", "label", "select-name", "link-name", "input-button-name", "aria-valid-attr",
             "aria-valid-attr-value", "aria-allowed-attr", "aria-required-attr", "aria-required-children",
             "aria-required-parent", "aria-roles", "aria-progressbar-name", "aria-command-name",
             "duplicate-id-aria", "duplicate-id-active", "empty-heading", "empty-table-header",
             "th-has-data-cells", "td-headers-attr", "list", "listitem", "nested-interactive",
             "summary-name", "form-field-multiple-labels", "label-title-only", "scrollable-region-focusable",
             "color-contrast"]

FR = {"locale": "fr-FR", "lab": "fr_FR", "hour": "18:00", "release": "Distribuer", "assignment": "Devoir",
      "due": re.compile(r"^Date de rendu"), "hard": re.compile(r"^Date limite stricte"),
      "past": "La date de rendu est déjà passée : choisissez une date plus tardive.",
      "released": "distribué, à rendre le", "month": "décembre|janvier|février|mars|avril|mai|juin|juillet|août|"
      "septembre|octobre|novembre", "yes": "oui", "more_time": "Accorder un délai à un élève", "pupil": "Élève",
      "grant": "Accorder le délai", "may_submit": "peut rendre", "until": "jusqu'au", "collect": "Ramasser",
      "collected": r"2 copies ramassées", "autograde": "Corriger automatiquement", "graded": "Corrigé : 2 sur 2",
      "progress": "Avancement de la correction automatique", "return": "Rendre la correction",
      "returned": "Correction rendue à 2 élèves.", "title": "Titre", "text": "Texte",
      "post": "Publier l'annonce", "posted": "Annonce publiée.", "headers": ["Élève", "Récupéré", "Rendu",
                                                                           "Délai propre"]}
AR = {"locale": "ar-SA", "lab": "ar_SA", "hour": "6:00", "release": "توزيع", "assignment": "الواجب",
      "due": re.compile(r"^موعد التسليم"), "hard": re.compile(r"^الأجل النهائي"),
      "past": "موعد التسليم قد مضى: اختر تاريخًا لاحقًا.", "released": "تم توزيع",
      "month": "يناير|فبراير|مارس|أبريل|مايو|يونيو|يوليو|أغسطس|سبتمبر|أكتوبر|نوفمبر|ديسمبر", "yes": "نعم",
      "more_time": "منح تلميذ مهلة إضافية", "pupil": "التلميذ", "grant": "منح المهلة", "may_submit": "يمكن لـ",
      "until": "حتى", "collect": "جمع الأوراق", "collected": r"تم جمع [2٢] ورقة", "autograde": "تصحيح آلي",
      "graded": "مُصحَّح: 2 من 2", "progress": "تقدّم التصحيح الآلي", "return": "إرجاع التصحيح",
      "returned": "أُرجع التصحيح إلى 2 تلميذًا.", "title": "العنوان", "text": "النص", "post": "نشر الإعلان",
      "posted": "تم نشر الإعلان.", "headers": ["التلميذ", "مُستلَم", "مُسلَّم", "أجل خاص"]}


def school_time(days: float, hour: int = 18) -> str:
    day = (dt.datetime.now(TZ) + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day.strftime("%Y-%m-%dT%H:%M")


def teacher_panel(browser, school, locale: str):
    page = browser.new_page(locale=locale, viewport={"width": 1400, "height": 1000})
    page.goto(f"{school.hub.url}/hub/login")
    page.fill("#username_input", TEACHER)
    page.fill("#password_input", school.accounts.password(TEACHER))
    page.click("#login_submit")
    page.goto(f"{school.hub.url}/user/{TEACHER}/lab")
    panel = show_panel(page)
    panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"]').wait_for(timeout=60_000)
    return page, panel


def plain(text: str) -> str:
    return text.translate(ARABIC_DIGITS)


def whole_cycle(browser, school, shot, L: dict, name: str, pupils: list[str], late: str, tag: str):
    put_source(school, name)
    page, panel = teacher_panel(browser, school, L["locale"])
    status = panel.locator(".jp-Cartable-status")
    course = panel.locator(f'section[data-course="{MINE}"]')

    # -- release with the deadline picker
    form = course.locator("form.jp-Cartable-release-form")
    form.get_by_label(L["assignment"]).select_option(name)
    due = form.get_by_label(L["due"])
    due.fill("2020-01-10T18:00")
    form.get_by_role("button", name=L["release"], exact=True).click()
    status.get_by_text(L["past"]).wait_for(timeout=10_000)  # refused before asking the server
    assert "jp-Cartable-error" in status.get_attribute("class")
    due_value = school_time(3)
    due.fill(due_value)
    preview = plain(form.locator(".jp-Cartable-preview").first.inner_text())
    assert re.search(L["month"], preview) and L["hour"] in preview, preview  # written out, school time
    form.get_by_label(L["hard"]).fill(school_time(4, hour=8))
    form.scroll_into_view_if_needed()
    shot(page, f"lab-teacher-{tag}-release")
    form.get_by_role("button", name=L["release"], exact=True).click()
    status.get_by_text(re.compile(L["released"])).wait_for(timeout=180_000)
    item = course.locator(f'article[data-assignment="{name}"]')
    item.wait_for(timeout=30_000)
    assert L["hour"] in plain(item.locator(".jp-Cartable-deadline").first.inner_text())
    assert item.locator("thead th").all_inner_texts() == L["headers"]

    # -- the pupils fetch and submit (their own servers); the teacher sees it in the roster
    for p in pupils:
        assert school.panel(p, "POST", "fetch", json={"course_id": MINE, "assignment_id": name}).status_code == 200
        r = school.panel(p, "POST", "submit", json={"course_id": MINE, "assignment_id": name})
        assert r.status_code == 200, r.text[:300]
    panel.locator(".jp-Cartable-refresh").click()
    for p in pupils:
        cell = item.locator(f'tr[data-pupil="{p}"] td').nth(1)
        cell.get_by_text(re.compile("^" + L["yes"])).wait_for(timeout=30_000)
    assert item.locator(f'tr[data-pupil="{late}"] td').nth(1).inner_text() != item.locator(
        f'tr[data-pupil="{pupils[0]}"] td').nth(1).inner_text()

    # -- one pupil gets more time
    item.locator("summary", has_text=L["more_time"]).click()
    ext = item.locator("form.jp-Cartable-extend-form")
    ext.get_by_label(L["pupil"], exact=True).select_option(late)
    ext.get_by_label(L["due"]).fill(school_time(6))
    ext.get_by_role("button", name=L["grant"]).click()
    status.get_by_text(re.compile(L["may_submit"])).wait_for(timeout=60_000)
    row = item.locator(f'tr[data-pupil="{late}"][data-extended="true"]')
    row.wait_for(timeout=30_000)
    assert L["until"] in row.locator(".jp-Cartable-own-deadline").inner_text()
    assert item.locator('tr[data-extended="true"]').count() == 1
    row.scroll_into_view_if_needed()
    shot(page, f"lab-teacher-{tag}-roster")

    # -- collect (with the keyboard), autograde with the progress bar
    collect = item.get_by_role("button", name=L["collect"])
    collect.focus()
    page.keyboard.press("Enter")
    status.get_by_text(re.compile(L["collected"])).wait_for(timeout=180_000)
    item.get_by_role("button", name=L["autograde"]).click()
    progress = item.get_by_role("progressbar", name=L["progress"])
    progress.wait_for(timeout=60_000)
    done = re.compile("^" + re.escape(L["graded"]).replace("2", "[2٢]").replace("\\ ", "\\s") + "$")
    item.locator(".jp-Cartable-graded").filter(has_text=done).wait_for(timeout=300_000)
    assert progress.get_attribute("value") == "2" and progress.get_attribute("max") == "2"
    progress.scroll_into_view_if_needed()
    shot(page, f"lab-teacher-{tag}-graded")

    # -- return the feedback: how many pupils got it
    item.get_by_role("button", name=L["return"]).click()
    status.get_by_text(re.compile(re.escape(L["returned"]).replace("2", "[2٢]"))).wait_for(timeout=300_000)
    item.locator(".jp-Cartable-returned").wait_for(timeout=30_000)
    r = school.panel(pupils[0], "POST", "feedback", json={"course_id": MINE, "assignment_id": name})
    assert r.status_code == 200 and r.json()["paths"], r.text[:300]
    item.locator(".jp-Cartable-returned").scroll_into_view_if_needed()
    shot(page, f"lab-teacher-{tag}-returned")

    # -- an announcement to the class
    box = course.locator("section.jp-Cartable-announcements")
    box.get_by_label(L["title"]).fill(f"{name}: corrigé")
    box.get_by_label(L["text"]).fill("→ " + name)
    box.get_by_role("button", name=L["post"]).click()
    status.get_by_text(L["posted"]).wait_for(timeout=60_000)
    course.locator("li.jp-Cartable-announcement", has_text=f"{name}: corrigé").wait_for(timeout=30_000)
    ann = [a for c in school.panel(pupils[1], "GET", "overview").json()["courses"] if c["course_id"] == MINE
           for a in c["announcements"] if a["title"] == f"{name}: corrigé"]
    assert len(ann) == 1 and ann[0]["read"] is False
    return page, panel


def test_teacher_whole_cycle_in_french(school, browser, shot):
    pupils = school.pupils()[0:2]
    page, panel = whole_cycle(browser, school, shot, FR, "dmfr", pupils, school.pupils()[2], "fr")
    assert panel.get_attribute("dir") == "ltr"
    page.close()


def test_teacher_whole_cycle_in_arabic_right_to_left(school, browser, shot):
    set_language(school, TEACHER, "ar_SA")
    try:
        pupils = school.pupils()[0:2]
        page, panel = whole_cycle(browser, school, shot, AR, "dmar", pupils, school.pupils()[2], "ar")
        assert panel.get_attribute("dir") == "rtl" and panel.get_attribute("lang") == "ar-SA"
        assert panel.locator("h2").inner_text() == "محفظتي"
        page.close()
    finally:
        set_language(school, TEACHER, "fr_FR")


def axe_violations(page) -> list[dict]:
    assert AXE.is_file(), "extensions/lab/node_modules/axe-core is missing: run `make install`"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async (rules) => {
        const r = await axe.run(document.querySelector('#cartable-panel'),
                                {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']});
        return {violations: r.violations.map(v => ({id: v.id, help: v.help,
                    nodes: v.nodes.map(n => n.html.slice(0, 200) + ' :: ' + n.failureSummary)})),
                passes: r.passes.map(p => p.id)};
    }""", AXE_RULES)
    assert "button-name" in result["passes"] and "label" in result["passes"], result["passes"]
    return result["violations"]


def test_teacher_panel_passes_axe_and_works_with_the_keyboard_alone(school, browser, shot):
    page, panel = teacher_panel(browser, school, "fr-FR")
    assert axe_violations(page) == []
    # every control of the panel in document order: what Tab must reach, one after the other
    controls = page.evaluate("""() => [...document.querySelectorAll('#cartable-panel button, #cartable-panel input,'
        + ' #cartable-panel select, #cartable-panel textarea, #cartable-panel a[href], #cartable-panel summary')]
        .filter(e => !e.disabled && !e.closest('[hidden]') && e.offsetParent !== null
                     && !(e.closest('details:not([open])') && e.tagName !== 'SUMMARY'))
        .map((e, i) => { e.dataset.order = String(i); return i; })""")
    assert len(controls) > 20
    panel.locator(".jp-Cartable-refresh").focus()
    reached = []
    for _ in range(6 * len(controls) + 20):  # a date field takes several Tabs (day, month, year, …)
        info = page.evaluate("""() => { const e = document.activeElement;
            const inPanel = !!e && !!e.closest('#cartable-panel');
            const name = e ? (e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].innerText)
                              || e.innerText || '').trim() : '';
            const style = e ? getComputedStyle(e) : null;
            return {inPanel, order: e && e.dataset.order, name,
                    outline: style ? style.outlineStyle + ' ' + style.outlineWidth : ''}; }""")
        if not info["inPanel"]:
            break
        if not reached or reached[-1] != info["order"]:
            reached.append(info["order"])
        assert info["name"], info  # every control has a name
        if len(reached) > 1:  # reached with Tab: the focus is visible
            assert not info["outline"].startswith("none"), info
        page.keyboard.press("Tab")
    assert [int(o) for o in reached if o is not None] == controls, reached
    # Space opens the extension form's disclosure, Enter presses a button
    summary = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"] summary')
    summary.focus()
    page.keyboard.press("Space")
    details = panel.locator(f'section[data-course="{MINE}"] article[data-assignment="{OPEN}"] details')
    assert details.get_attribute("open") is not None
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SELECT"
    refresh = panel.locator(".jp-Cartable-refresh")
    refresh.focus()
    with page.expect_response(re.compile(r"/api/cartable/overview")) as answered:
        page.keyboard.press("Enter")
    assert answered.value.status == 200
    with page.expect_response(re.compile(r"/api/cartable/overview")) as answered:
        page.keyboard.press("Space")
    assert answered.value.status == 200
    page.wait_for_selector("#cartable-panel:not([aria-busy])")
    details.scroll_into_view_if_needed()
    shot(page, "lab-teacher-fr-keyboard")
    page.close()


@pytest.mark.parametrize("locale", ["fr-FR", "ar-SA"])
def test_pupil_panel_passes_axe(school, browser, locale):
    pupil = school.pupils()[3 if locale == "fr-FR" else 4]
    if locale == "ar-SA":
        set_language(school, pupil, "ar_SA")
    page, panel = open_panel(browser, school, pupil, locale)
    assert axe_violations(page) == []
    page.close()
