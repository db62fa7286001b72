"""A full practice round in real Chromium: type, reveal, rate, next card, keyboard shortcuts."""

import os
import re
import shutil

import pytest

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
    assert page.get_by_role("alert").inner_text().startswith("type your attempt")
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
    assert "random positive" in page.locator("#feedback mark").first.inner_text()
    assert page.locator("#feedback b").count() == 0
    assert "<b>bold?</b>" in feedback.inner_text()
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
