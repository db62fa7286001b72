"""Pages in real Chromium: a full practice round (type, reveal, rate, next card, keyboard
shortcuts), and every page at phone and desktop size in both interface languages."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from razbor.web.i18n import STRINGS, TOPIC_NAMES

from .conftest import JudgeServer, LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        reason = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    with sync_api.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield launched
    launched.close()


def test_a_round_with_keyboard_shortcuts(browser, live_server, artifacts):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    page.click("#practice-all")
    page.wait_for_url(re.compile(r"/cards/batchnorm$"))
    assert "SyncBatchNorm gathers" not in page.content()
    expect(page.locator("#timer")).to_contain_text(":")

    page.fill("#attempt-text", "Per-channel mean and variance over the batch; gamma and beta.")
    page.press("#attempt-text", "Control+Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    analysis = page.locator("#analysis")
    assert analysis.get_attribute("open") is None
    assert not page.locator(".section.analysis").is_visible()

    page.locator("h1").click()
    page.keyboard.press("Space")
    page.locator(".section.analysis").wait_for(state="visible")
    for heading in ("Короткий ответ", "Подробный разбор", "Типичные ошибки",
                    "Как сказать на собеседовании"):
        assert page.get_by_role("heading", name=heading).is_visible()
    page.screenshot(path=str(artifacts / "practice-round.png"), full_page=True)

    page.keyboard.press("3")
    page.wait_for_url(re.compile(r"/cards/mixed-precision$"))

    page.click("#answered-aloud")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    page.click("#reveal")
    page.click("button.rate-4")
    page.wait_for_url(re.compile(r"/cards/roc-auc$"))

    page.goto(live_server.url + "/cards/batchnorm/history")
    assert page.locator(".history-entry").count() == 1
    assert "gamma and beta" in page.locator(".history-entry").inner_text()
    assert "Хорошо" in page.locator(".history-entry").inner_text()
    page.close()


def test_the_round_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/practice?topic=metrics&lang=en")
    page.wait_for_url(re.compile(r"/cards/roc-auc"))
    page.fill("#attempt-text", "Probability that a positive outranks a negative.")
    page.click("#submit-attempt")
    page.wait_for_url(re.compile(r"/attempts/\d+"))
    page.click("#reveal")
    assert page.get_by_role("heading", name="Detailed analysis").is_visible()
    page.click("button.rate-3")
    page.wait_for_url(re.compile(r"/practice"))
    assert page.locator("#done").is_visible()
    context.close()


def test_empty_attempt_shows_the_error_and_keeps_the_page(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/cards/dental-lesions-3d")
    page.press("#attempt-text", "Control+Enter")
    assert page.get_by_role("alert").inner_text().startswith("Напишите попытку")
    page.close()


def test_feedback_after_the_reveal_with_a_suggested_rating(browser, live_server, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(live_server.url + "/cards/roc-auc")
    assert page.locator("#feedback").count() == 0
    page.fill("#attempt-text", "ROC-AUC is the probability that a random positive gets a "
                               "higher score than a random negative. It is robust to "
                               "imbalance, so PR-AUC is not needed. <b>bold?</b>")
    page.press("#attempt-text", "Control+Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    assert not page.locator("#feedback").is_visible()
    page.click("#reveal")
    feedback = page.locator("#feedback")
    feedback.wait_for(state="visible")
    assert page.locator('li.covered[data-point="auc.ranking"]').is_visible()
    assert page.locator('li.missed[data-point="auc.binarized"]').is_visible()
    assert page.locator('[data-mistake="auc.m.imbalance_robust"]').is_visible()
    attempt = page.locator("#your-attempt")
    assert "random positive" in attempt.locator("mark").first.inner_text()
    assert attempt.locator("b").count() == 0
    assert "<b>bold?</b>" in attempt.inner_text()
    suggested = page.locator(".rating button.suggested")
    assert suggested.get_attribute("value") == "2"
    page.screenshot(path=str(artifacts / "feedback.png"), full_page=True)
    page.locator("h1").click()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/(cards|practice)"))
    page.goto(live_server.url + "/cards/roc-auc/history")
    assert page.locator(".history-entry #feedback, .history-entry .feedback").count() == 1
    assert "Трудно" in page.locator(".history-entry").inner_text()
    page.close()


def test_record_with_a_fake_microphone_then_reveal_feedback_and_delivery(playwright, live_server,
                                                                          tmp_path, artifacts):
    from playwright.sync_api import expect

    from .test_speech import ENGLISH, ENGLISH_VOICE, synthesise

    clip = synthesise(ENGLISH, tmp_path / "answer.wav", ENGLISH_VOICE)
    args = [*LAUNCH_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={clip}%noloop"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(live_server.url + "/cards/batchnorm")
    record = page.locator("#record")
    record.wait_for(state="visible")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(9000)
    record.click()
    expect(page.locator("#attempt-text")).to_have_value(re.compile(r".{21}", re.S),
                                                        timeout=90_000)
    transcript = page.input_value("#attempt-text").lower()
    assert "variance" in transcript and "running" in transcript
    page.press("#attempt-text", "Control+Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+"))
    page.click("#reveal")
    page.locator("#feedback").wait_for(state="visible")
    assert page.locator('li.covered[data-point="bn.inference"]').is_visible()
    delivery = page.locator("#delivery")
    assert delivery.is_visible() and "слов/мин" in delivery.inner_text()
    assert page.locator("audio").count() == 1
    page.screenshot(path=str(artifacts / "spoken-attempt.png"), full_page=True)
    browser.close()


def test_the_api_explorer_works_with_no_network(browser, live_server):
    page = browser.new_page()
    elsewhere = []

    def only_this_server(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(live_server.url + "/docs")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/attempts/{attempt_id}/rating"]')
    assert elsewhere == []
    page.close()


# At phone and desktop size, in both languages.

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ATTEMPT = "Per-channel mean and variance over the batch; running statistics at inference."
PASSWORD = "correct horse battery"


def assert_fits(page, where: str) -> None:
    """Nothing is wider than the window, and every header link and button is inside it."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where} is {scroll_width} px wide in a {width} px window"
    outside = page.evaluate("""width => [...document.querySelectorAll('header a, header button')]
        .filter(e => e.checkVisibility())
        .filter(e => e.getBoundingClientRect().left < 0 || e.getBoundingClientRect().right > width)
        .map(e => e.textContent)""", width)
    assert outside == [], f"{where}: {outside} off-screen"


def assert_rating_in_reach(page) -> None:
    """All four rating buttons are inside the window and nothing covers them."""
    height = page.viewport_size["height"]
    for button in page.locator(".rating button").all():
        box = button.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, box
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert page.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('.rating')",
                             centre)


def interface_text(page) -> str:
    """The page's own words: the body without the card's content, the attempt and the
    link to the other language."""
    return page.evaluate("""() => {
        const copy = document.body.cloneNode(true);
        copy.querySelectorAll('.question, .asked, .attempt-text, .statement, q.evidence, '
                              + '.section > :not(h2), .related a, [lang]')
            .forEach(e => e.remove());
        return copy.textContent;
    }""")


def english_interface_strings() -> list[str]:
    """Every English string of the interface that its Russian differs from."""
    pairs = [*STRINGS.values(), *TOPIC_NAMES.values()]
    return sorted({pair["en"] for pair in pairs if pair["en"] != pair["ru"]})


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_fits_the_window_and_the_rating_is_in_reach(browser, live_server, artifacts,
                                                                size, lang):
    context = browser.new_context(viewport=size)
    page = context.new_page()
    page.goto(f"{live_server.url}/?lang={lang}")
    assert_fits(page, "home")
    page.click("#practice-all")
    page.wait_for_url(re.compile(r"/cards/batchnorm$"))
    assert_fits(page, "practice")
    page.fill("#attempt-text", ATTEMPT)
    page.click("#submit-attempt")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    assert_fits(page, "attempt")
    assert not page.locator(".rating").is_visible()
    page.click("#reveal")
    page.locator(".section.analysis").wait_for(state="visible")
    assert_fits(page, "analysis")
    assert page.locator("main").inner_text().count(ATTEMPT) == 1
    assert_rating_in_reach(page)
    page.screenshot(path=str(artifacts / f"attempt-{lang}-{size['width']}.png"))
    page.locator(".section.interview").scroll_into_view_if_needed()
    assert_rating_in_reach(page)
    for path in ("/browse", "/stats", "/settings", "/cards/batchnorm/history"):
        page.goto(live_server.url + path)
        assert_fits(page, path)
    context.close()


def test_the_russian_pages_have_no_english_interface_text(browser, live_server):
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/cards/roc-auc?lang=ru")
    practice = interface_text(page)
    page.fill("#attempt-text", "ROC-AUC is the probability that a random positive outranks a "
                               "random negative.")
    page.click("#submit-attempt")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    page.click("#reveal")
    attempt = interface_text(page)
    page.goto(live_server.url + "/cards/nope")
    error = interface_text(page)
    assert "Метрики" in attempt and "Насколько хорошо вы ответили?" in attempt
    assert "Карточки с id 'nope' нет." in error
    for where, text in (("practice", practice), ("attempt", attempt), ("error", error)):
        found = [english for english in english_interface_strings()
                 if re.search(rf"(?<!\w){re.escape(english)}(?!\w)", text)]
        assert found == [], f"English on the Russian {where} page: {found}"
    page.close()


def test_the_upload_row_is_translated_and_shows_a_chosen_file_without_javascript(
        browser, live_server, tmp_path):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/cards/batchnorm?lang=ru")
    if page.locator("#recorder").count() == 0:
        pytest.skip("this server has no speech model, so it shows no recorder")
    pick = page.locator("label.file-pick")
    assert pick.inner_text() == "Аудиофайл…" and page.locator("#upload-form").is_visible()
    assert page.locator("#audio-file").bounding_box()["width"] <= 1
    assert not page.locator("#file-chosen").is_visible()
    with page.expect_file_chooser() as chooser:
        pick.click()
    answer = tmp_path / "answer.wav"
    answer.write_bytes(b"RIFF")
    chooser.value.set_files(answer)
    assert page.locator("#file-chosen").inner_text() == "файл выбран"
    assert_fits(page, "practice")
    context.close()


def test_the_signed_in_header_fits_a_phone(browser, sqlite_url, seed_deck_dir):
    environment = {**os.environ, "RAZBOR_DB": sqlite_url}
    subprocess.run([sys.executable, "-m", "razbor.cli", "user", "add", "konstantin.levin",
                    "--admin", "--password-stdin"], input=PASSWORD + "\n", text=True,
                   env=environment, check=True, capture_output=True)
    server = LiveServer(sqlite_url, "--accounts", deck=seed_deck_dir).start()
    try:
        page = browser.new_page(viewport=PHONE)
        page.goto(server.url + "/login")
        page.fill('input[name="name"]', "konstantin.levin")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"].primary')
        page.wait_for_url(re.compile(r"/$"))
        for lang in ("ru", "en"):
            page.goto(f"{server.url}/?lang={lang}")
            assert_fits(page, f"home, signed in, {lang}")
            header = page.locator("header")
            assert header.locator(".account-name").inner_text() == "konstantin.levin"
            assert header.get_by_role("link", name=STRINGS["team"][lang]).is_visible()
            assert header.get_by_role("button", name=STRINGS["sign_out"][lang]).is_visible()
        page.close()
    finally:
        server.stop()


def test_feedback_from_a_slow_judge_appears_by_itself(browser, sqlite_url, seed_deck_dir,
                                                       held_judge_url):
    """With the LLM judge the attempt page comes first; its script brings the feedback in."""
    server = LiveServer(sqlite_url, "--grader", "llm", "--llm-url", held_judge_url,
                        "--llm-model", "m", deck=seed_deck_dir).start()
    try:
        page = browser.new_page()
        page.goto(server.url + "/cards/roc-auc")
        page.fill("#attempt-text", "AUC is the chance that a random positive outranks a "
                                   "random negative.")
        page.press("#attempt-text", "Control+Enter")
        page.wait_for_url(re.compile(r"/attempts/\d+$"))
        page.click("#reveal")
        page.locator("#grading").wait_for(state="visible")
        JudgeServer.gate.set()
        page.locator('li.covered[data-point="auc.ranking"]').wait_for(state="visible",
                                                                      timeout=30_000)
        assert page.locator("#grading").count() == 0 and "reveal=1" in page.url
    finally:
        server.stop()
