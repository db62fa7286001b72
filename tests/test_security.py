"""Safe to put on a network: each finding of the security review, reproduced and refused.

Over real HTTP through the ASGI app, through `razbor serve` started as a user starts it, and in
real Chromium for what only a browser does (CSP, framing, a form auto-submitted by another site).
"""

import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

import razbor.labs.background as background
from razbor.config import SettingError, Settings
from razbor.decks import load_deck
from razbor.practice import Trainer
from razbor.web.app import create_app
from razbor.web.security import trusted_hosts

from .conftest import LiveServer
from .test_browser import CHROMIUM, LAUNCH_ARGS

EVIL = "http://evil.example"
FROM_EVIL = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
                    "referrer-policy", "permissions-policy")


@pytest.fixture
def client(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), follow_redirects=False) as http:
        yield http


def started_at(client, card_id="batchnorm") -> str:
    page = client.get(f"/cards/{card_id}").text
    return re.search(r'name="started_at" value="([^"]+)"', page).group(1)


def finished_lab(client, url: str):
    """GET a lab page until the background worker has finished it (202 while computing)."""
    deadline = time.monotonic() + 600
    while (page := client.get(url)).status_code == 202:
        assert "http-equiv=\"refresh\"" in page.text
        assert time.monotonic() < deadline, f"{url} still computing after 10 minutes"
        time.sleep(0.05)
    return page


# CSRF: a page on another origin must not be able to act for the user.

def test_a_form_posted_from_another_origin_is_refused_and_stores_nothing(client):
    form = {"started_at": started_at(client), "text": "planted by evil.example"}
    refused = client.post("/cards/batchnorm/attempts", data=form, headers={"Origin": EVIL})
    assert refused.status_code == 403 and "cross-origin request refused" in refused.text
    assert client.get("/api/cards/batchnorm/attempts").json() == []
    assert client.get("/api/cards/batchnorm/analysis").status_code == 403


def test_a_cross_site_rating_and_settings_change_are_refused(client):
    attempt = client.post("/api/cards/batchnorm/attempts", json={"answered_aloud": True}).json()
    rated = client.post(f"/attempts/{attempt['id']}/rating", data={"rating": "4"},
                        headers={"Sec-Fetch-Site": "cross-site"})
    assert rated.status_code == 403
    assert client.get(f"/api/attempts/{attempt['id']}").json()["review"] is None
    settings = client.post("/settings", data={"recording": "off", "lang": "en"},
                           headers=FROM_EVIL)
    assert settings.status_code == 403 and "set-cookie" not in settings.headers


def test_the_json_api_refuses_other_origins_with_a_json_reason(client):
    refused = client.post("/api/cards/batchnorm/attempts", json={"answered_aloud": True},
                          headers={"Origin": "null"})
    assert refused.status_code == 403
    assert "cross-origin request refused" in refused.json()["detail"]
    same_site = client.post("/api/cards/batchnorm/attempts", json={"answered_aloud": True},
                            headers={"Sec-Fetch-Site": "same-site"})
    assert same_site.status_code == 403


def test_every_state_changing_route_is_guarded(client):
    from razbor.web import api, pages, recordings

    unsafe = [(method, re.sub(r"\{[^}]+\}", "1", route.path))
              for module in (api, pages, recordings) for route in module.router.routes
              for method in route.methods - {"GET", "HEAD", "OPTIONS"}]
    assert len(unsafe) >= 5
    for method, path in unsafe:
        response = client.request(method, path, headers=FROM_EVIL)
        assert response.status_code == 403, (method, path)
        assert "cross-origin request refused" in response.text, (method, path)


def test_own_pages_and_scripts_without_browser_headers_still_work(client):
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    form = {"started_at": started_at(client), "aloud": "1"}
    assert client.post("/cards/batchnorm/attempts", data=form, headers=own).status_code == 303
    typed_in_address_bar = {"Sec-Fetch-Site": "none"}
    assert client.post("/settings", data={"recording": "off"},
                       headers=typed_in_address_bar).status_code == 303
    script = client.post("/api/cards/roc-auc/attempts", json={"answered_aloud": True})
    assert script.status_code == 201


def test_cookies_are_same_site(client):
    saved = client.post("/settings", data={"recording": "on", "lang": "en"})
    cookies = saved.headers.get_list("set-cookie")
    assert len(cookies) == 2 and all("samesite=lax" in cookie.lower() for cookie in cookies)
    assert "samesite=lax" in client.get("/?lang=ru").headers["set-cookie"].lower()


# Headers on every response.

@pytest.mark.parametrize("method, path, status", [
    ("GET", "/", 200), ("GET", "/cards/batchnorm", 200), ("GET", "/browse", 200),
    ("GET", "/stats", 200), ("GET", "/settings", 200), ("GET", "/docs", 200),
    ("GET", "/openapi.json", 200), ("GET", "/api/cards", 200), ("GET", "/static/app.js", 200),
    ("GET", "/static/docs/swagger-ui-bundle.js", 200), ("GET", "/no-such-page", 404),
    ("GET", "/static/no-such.js", 404), ("GET", "/cards/no-such", 404),
    ("GET", "/api/cards/batchnorm/analysis", 403), ("POST", "/api/cards/batchnorm/attempts", 422),
])
def test_every_response_carries_the_security_headers(client, method, path, status):
    response = client.request(method, path, content=b"[]",
                              headers={"content-type": "application/json"})
    assert response.status_code == status
    assert all(name in response.headers for name in SECURITY_HEADERS), response.headers
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "microphone=(self)" in response.headers["permissions-policy"]
    private = not path.startswith("/static/")
    assert (response.headers.get("cache-control") == "no-store") == private
    assert "strict-transport-security" not in response.headers, "not over plain HTTP"


def test_over_tls_browsers_are_told_to_stay_on_tls_and_static_files_may_be_cached(
        sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), base_url="https://testserver") as client:
        page = client.get("/")
        style = client.get("/static/style.css")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert page.headers["cache-control"] == "no-store"
    assert style.status_code == 200 and "cache-control" not in style.headers


def test_a_crash_and_a_refusal_carry_the_headers_too(sqlite_trainer):
    app = create_app(sqlite_trainer, allowed_hosts=["127.0.0.1"])

    def crash():
        raise RuntimeError("a bug")

    app.add_api_route("/crash", crash)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as http:
        crashed = http.get("/crash")
        wrong_host = http.get("/", headers={"Host": "evil.example"})
        cross_origin = http.post("/settings", headers=FROM_EVIL)
    for response, status in ((crashed, 500), (wrong_host, 400), (cross_origin, 403)):
        assert response.status_code == status
        assert all(name in response.headers for name in SECURITY_HEADERS), status


def test_no_template_or_script_needs_inline_code_or_styles():
    from razbor.web.app import HERE

    for template in sorted((HERE / "templates").glob("*.html")):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert not re.search(r"\sstyle\s*=", html), template.name
    script = (HERE / "static" / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|setAttribute\(\s*['\"](style|on)|eval\(|new Function", script)


# Trusted hosts: DNS rebinding must not reach the API.

def test_only_the_trusted_hosts_are_answered(sqlite_trainer):
    hosts = trusted_hosts("", "127.0.0.1")
    assert hosts == ["127.0.0.1", "localhost", "[::1]"]
    app = create_app(sqlite_trainer, allowed_hosts=hosts)
    with TestClient(app, base_url="http://127.0.0.1:8000") as http:
        assert http.get("/api/cards").status_code == 200
        assert http.get("/api/cards", headers={"Host": "localhost:8000"}).status_code == 200
        assert http.get("/api/cards", headers={"Host": "[::1]:8000"}).status_code == 200
        rebound = http.get("/api/cards", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400 and "Invalid host header" in rebound.text


def test_the_allowed_hosts_setting_replaces_the_defaults(monkeypatch, sqlite_trainer):
    monkeypatch.setenv("RAZBOR_ALLOWED_HOSTS", "razbor.lan, *.home.example")
    setting = Settings.load(["allowed_hosts"]).allowed_hosts
    app = create_app(sqlite_trainer, allowed_hosts=trusted_hosts(setting, "0.0.0.0"))
    with TestClient(app, base_url="http://razbor.lan") as http:
        assert http.get("/").status_code == 200
        assert http.get("/", headers={"Host": "pc.home.example"}).status_code == 200
        assert http.get("/", headers={"Host": "127.0.0.1"}).status_code == 400
    monkeypatch.setenv("RAZBOR_ALLOWED_HOSTS", "http://razbor.lan")
    with pytest.raises(SettingError, match=r"RAZBOR_ALLOWED_HOSTS: 'http://razbor\.lan' is not"):
        Settings.load(["allowed_hosts"])


def test_serving_on_every_interface_warns_and_refuses_other_hosts(sqlite_url, seed_deck_dir):
    server = LiveServer(sqlite_url, "--host", "0.0.0.0", deck=seed_deck_dir).start()
    try:
        server.log.seek(0)
        output = server.log.read().decode()
        assert re.search(r"razbor: WARNING: listening on 0\.0\.0\.0 without --accounts: anyone "
                         r"who can reach this address can use it", output)
        assert "--allowed-hosts" in output
        assert httpx.get(server.url + "/api/cards").status_code == 200
        rebound = httpx.get(server.url + "/api/cards", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400 and "content-security-policy" in rebound.headers
    finally:
        server.stop()


def test_serving_on_loopback_does_not_warn(live_server):
    live_server.log.seek(0)
    assert "WARNING" not in live_server.log.read().decode()


# Nothing of the analysis before an attempt.

def test_no_lab_opens_before_an_attempt_at_its_card(sqlite_url, clock):
    from razbor.storage import Store

    store = Store.open(sqlite_url)
    trainer = Trainer(load_deck(), store, clock=clock)
    with_labs = [card for card in trainer.deck if card.lab]
    assert len(with_labs) >= 18
    with TestClient(create_app(trainer)) as http:
        for card in with_labs:
            page = http.get(f"/cards/{card.id}/lab")
            assert page.status_code == 403, card.id
            assert "Лаборатория откроется после вашей попытки" in page.text
            assert 'class="passed"' not in page.text and "lab-claims" not in page.text
    store.close()


def test_a_lab_opens_after_an_attempt_and_shows_computing_until_done(client):
    client.post("/api/cards/roc-auc/attempts", json={"answered_aloud": True})
    first = client.get("/cards/roc-auc/lab")
    assert first.status_code == 202
    assert 'id="lab-computing"' in first.text and '<meta http-equiv="refresh"' in first.text
    done = finished_lab(client, "/cards/roc-auc/lab")
    assert done.text.count('class="passed"') == 4 and "http-equiv" not in done.text


def test_concurrent_lab_requests_start_one_computation(client, monkeypatch):
    calls, release = [], threading.Event()

    def gated_run_lab(name, seed=0):
        calls.append((name, seed))
        release.wait(60)
        return real_run_lab(name, seed=seed)

    real_run_lab = background.run_lab
    monkeypatch.setattr(background, "run_lab", gated_run_lab)
    lab = client.app.state.trainer.card("roc-auc").lab
    client.post("/api/cards/roc-auc/attempts", json={"answered_aloud": True})
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: client.get("/cards/roc-auc/lab").status_code,
                                 range(12)))
    assert statuses == [202] * 12
    release.set()
    assert finished_lab(client, "/cards/roc-auc/lab").status_code == 200
    assert client.get("/cards/roc-auc/lab").status_code == 200
    assert calls == [(lab, 0)]


def test_search_matches_only_what_shows_before_an_attempt(client, sqlite_trainer):
    card = sqlite_trainer.card("mixed-precision")
    visible = " ".join(c.id + " " + c.title + " " + c.question + " " + c.instruction + " "
                       + " ".join(c.topics)
                       for c in sqlite_trainer.deck).casefold()
    hidden = [word for word in re.findall(r"\w{6,}", card.short_answer + card.analysis)
              if word.casefold() not in visible]
    assert "GradScaler" in hidden
    for word in hidden[:20]:
        assert client.get(f"/api/cards?q={word}").json() == [], word
        assert 'id="found-count">0<' in client.get(f"/browse?q={word}").text, word
    assert [c["id"] for c in client.get("/api/cards?q=BF16").json()] == ["mixed-precision"]
    assert [c["id"] for c in client.get("/api/cards?q=ranking").json()] == ["roc-auc"]


# In real Chromium.

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def watched_page(browser) -> tuple:
    """A page and the list of CSP violations it reports, from the console and the DOM event."""
    page, violations = browser.new_page(), []

    def note(text: str) -> None:
        violations.append(text)

    page.on("console", lambda message: note(message.text)
            if "Content Security Policy" in message.text else None)
    page.expose_function("reportViolation", note)
    page.add_init_script("document.addEventListener('securitypolicyviolation', event => "
                         "window.reportViolation(event.violatedDirective + ' ' + event.blockedURI))")
    return page, violations


@pytest.mark.browser
def test_the_main_pages_run_under_the_policy_without_violations(browser, live_server):
    from playwright.sync_api import expect

    page, violations = watched_page(browser)
    for path in ("/", "/browse", "/stats", "/settings"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
    page.goto(live_server.url + "/cards/roc-auc")
    expect(page.locator("#timer")).to_contain_text(":")
    page.fill("#attempt-text", "Probability that a random positive outranks a random negative.")
    page.click("#submit-attempt")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    page.locator("h1").click()
    page.keyboard.press("Space")
    page.locator(".section.analysis").wait_for(state="visible")
    page.goto(live_server.url + "/cards/roc-auc/lab")
    page.locator("#lab-claims").wait_for(timeout=600_000)
    page.goto(live_server.url + "/stats")
    assert page.locator("svg.chart").count() == 4  # calendar, forecast, time, coverage
    page.goto(live_server.url + "/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 10
    assert violations == []


@pytest.mark.browser
def test_another_origin_can_neither_frame_nor_post_to_razbor(browser, live_server):
    page = browser.new_page()
    framing = f'<iframe id="victim" src="{live_server.url}/"></iframe>'
    forging = (f'<form method="post" action="{live_server.url}/cards/batchnorm/attempts">'
               '<input name="aloud" value="1"><input name="started_at" '
               'value="2026-01-01T00:00:00+00:00"></form>'
               "<script>document.forms[0].submit()</script>")
    page.route(f"{EVIL}/frame", lambda route: route.fulfill(body=framing, content_type="text/html"))
    page.route(f"{EVIL}/forge", lambda route: route.fulfill(body=forging, content_type="text/html"))

    page.goto(f"{EVIL}/frame")
    page.wait_for_load_state("load")
    framed = page.frame_locator("#victim").locator(".brand")
    assert framed.count() == 0
    assert [frame.url for frame in page.frames if frame.url.startswith(live_server.url)] == []

    with page.expect_response(f"{live_server.url}/cards/batchnorm/attempts") as posted:
        page.goto(f"{EVIL}/forge")
    assert posted.value.status == 403
    assert httpx.get(f"{live_server.url}/api/cards/batchnorm/attempts").json() == []
