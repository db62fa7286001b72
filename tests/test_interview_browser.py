"""A mock interview in real Chromium: by keyboard alone, without JavaScript, and every page of
it at phone size in both languages."""

import re
import shutil

import pytest

from .test_browser import (
    CHROMIUM,
    LAUNCH_ARGS,
    PHONE,
    assert_fits,
    english_interface_strings,
    interface_text,
)

pytestmark = pytest.mark.browser
ANSWER = "Per-channel mean and variance over the batch; running statistics at inference."


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as running:
        launched = running.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def start_one_question(page, server_url: str) -> None:
    """Set up a one-question interview from the keyboard: type the numbers, press Enter."""
    page.goto(server_url + "/interviews")
    page.fill("#interview-questions", "1")
    page.fill("#interview-minutes", "10")
    page.press("#interview-minutes", "Enter")
    page.wait_for_url(re.compile(r"/interviews/\d+$"))


def test_an_interview_by_keyboard_from_setup_to_ratings(browser, live_server, artifacts):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    start_one_question(page, live_server.url)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert page.locator("h1.question").inner_text() == "BatchNorm при обучении, инференсе и multi-GPU"
    assert page.locator("a[href^='/attempts/']").count() == 0
    page.screenshot(path=str(artifacts / "interview-question.png"), full_page=True)

    page.fill("#attempt-text", ANSWER)
    page.press("#attempt-text", "Control+Enter")
    expect(page.locator("article .meta").first).to_contain_text("Уточнение к вопросу 1")
    assert "SyncBatchNorm gathers" not in page.content()
    page.fill("#attempt-text", "GroupNorm does not depend on the batch size.")
    page.press("#attempt-text", "Control+Enter")
    page.wait_for_url(re.compile(r"/interviews/\d+/report$"))

    assert page.locator("#weakest li").count() >= 1
    assert page.locator(".analysis-link").count() == 2
    suggested = page.locator("input[name^='rating-']:checked")
    wanted = int(suggested.get_attribute("value")) % 4 + 1
    suggested.focus()
    page.keyboard.press("ArrowRight")
    page.screenshot(path=str(artifacts / "interview-report.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ratings .rated")).to_contain_text(
        ("Снова", "Трудно", "Хорошо", "Легко")[wanted - 1])

    page.click(".analysis-link >> nth=0")
    page.wait_for_url(re.compile(r"/attempts/\d+\?reveal=1$"))
    assert page.get_by_role("heading", name="Подробный разбор").is_visible()
    page.goto(live_server.url + "/interviews")
    assert page.locator("#past-interviews tbody tr").count() == 1
    page.close()


def test_an_interview_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/interviews?lang=en")
    page.uncheck("input[name='follow_ups']")
    page.fill("#interview-questions", "2")
    page.click("#start-interview")
    page.wait_for_url(re.compile(r"/interviews/\d+$"))
    assert re.fullmatch(r"\d+:\d\d", page.locator("#countdown").inner_text())
    page.fill("#attempt-text", ANSWER)
    page.click("#submit-attempt")
    page.locator("text=Question 2 of 2").wait_for()
    page.click("#answered-aloud")
    page.wait_for_url(re.compile(r"/report$"))
    assert page.locator("fieldset.interview-rating").count() == 2
    page.check("fieldset.interview-rating >> nth=1 >> input[value='3']")
    page.click("#save-ratings")
    page.wait_for_url(re.compile(r"/report#ratings$"))
    assert page.locator("#ratings .rated").count() == 2
    context.close()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_interview_page_fits_a_phone(browser, live_server, artifacts, lang):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/interviews?lang={lang}")
    assert_fits(page, "interview setup")
    shown = {"setup": interface_text(page)}
    start_one_question(page, live_server.url)
    assert_fits(page, "interview question")
    shown["question"] = interface_text(page)
    if lang == "ru":
        for where, text in shown.items():
            found = [english for english in english_interface_strings()
                     if re.search(rf"(?<!\w){re.escape(english)}(?!\w)", text)]
            assert found == [], f"English on the Russian interview {where} page: {found}"
    page.fill("#attempt-text", ANSWER)
    page.click("#submit-attempt")
    page.locator("#attempt-text").wait_for()
    page.click("#end-interview")
    page.wait_for_url(re.compile(r"/report$"))
    assert_fits(page, "interview report")
    page.screenshot(path=str(artifacts / f"interview-report-{lang}-phone.png"), full_page=True)
    page.goto(f"{live_server.url}/interviews")
    assert_fits(page, "past interviews")
    context.close()
