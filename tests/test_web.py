"""The web trainer over HTTP through the ASGI app: pages, forms, the JSON API and refusals."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from razbor.cards import Card, Deck
from razbor.practice import Trainer
from razbor.storage import Store
from razbor.storage import store as store_module
from razbor.web.app import create_app

from .conftest import seed_deck


@pytest.fixture
def client(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), follow_redirects=False) as http:
        yield http


def submit(client, card_id="batchnorm", **form):
    page = client.get(f"/cards/{card_id}")
    started = re.search(r'name="started_at" value="([^"]+)"', page.text).group(1)
    return client.post(f"/cards/{card_id}/attempts", data={"started_at": started, **form})


def test_home_lists_topics_with_counts(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-topic="deep-learning"' in page.text and "4 новых" in page.text


def test_practice_redirects_to_the_next_card(client):
    response = client.get("/practice?topic=metrics")
    assert response.status_code == 303 and response.headers["location"] == "/cards/roc-auc?topic=metrics"


def test_the_practice_page_does_not_send_the_analysis(client, sqlite_trainer):
    card = sqlite_trainer.card("batchnorm")
    page = client.get("/cards/batchnorm").text
    assert card.title in page and "Сначала проговорите" in page
    for secret in ("SyncBatchNorm gathers statistics", "Подробный разбор", "Типичные ошибки"):
        assert secret not in page
    assert client.get("/api/cards/batchnorm").json().keys() == {
        "id", "title", "question", "lang", "topics", "difficulty", "instruction"}


def test_the_analysis_api_refuses_before_an_attempt_and_answers_after(client):
    refused = client.get("/api/cards/batchnorm/analysis")
    assert refused.status_code == 403 and "make an attempt" in refused.json()["detail"]
    made = client.post("/api/cards/batchnorm/attempts", json={"answered_aloud": True, "seconds": 40})
    assert made.status_code == 201
    analysis = client.get(f"/api/attempts/{made.json()['id']}/analysis").json()
    assert "SyncBatchNorm" in analysis["analysis"]["markdown"]
    assert client.get("/api/cards/batchnorm/analysis").status_code == 200


def test_a_full_round_with_plain_forms(client):
    response = submit(client, text="mean and variance per channel, then gamma and beta")
    assert response.status_code == 303
    attempt_url = response.headers["location"]
    page = client.get(attempt_url).text
    assert "gamma and beta" in page and "Показать разбор" in page
    assert all(h in page for h in ("Короткий ответ", "Подробный разбор", "Типичные ошибки",
                                   "Как сказать на собеседовании"))
    rated = client.post(attempt_url + "/rating", data={"rating": "3"})
    assert rated.status_code == 303 and rated.headers["location"] == "/practice"
    assert client.get("/practice").headers["location"] == "/cards/mixed-precision"
    history = client.get("/cards/batchnorm/history").text
    assert "gamma and beta" in history and "Хорошо" in history


def test_answering_aloud_records_the_time_spent_by_the_servers_clock(client, clock):
    page = client.get("/cards/batchnorm")
    started = re.search(r'name="started_at" value="([^"]+)"', page.text).group(1)
    clock.now += timedelta(seconds=42)
    response = client.post("/cards/batchnorm/attempts", data={"started_at": started, "aloud": "1"})
    attempt_id = int(response.headers["location"].rsplit("/", 1)[1])
    attempt = client.get(f"/api/attempts/{attempt_id}").json()
    assert attempt["answered_aloud"] and attempt["text"] == "" and attempt["seconds"] == 42


def test_an_empty_form_is_refused_with_the_form_shown_again(client):
    response = submit(client, text="   ")
    assert response.status_code == 400 and "Напишите попытку" in response.text
    assert client.get("/api/cards/batchnorm/attempts").json() == []


def test_a_form_without_its_start_time_is_refused(client):
    response = client.post("/cards/batchnorm/attempts", data={"text": "x", "started_at": "yesterday"})
    assert response.status_code == 400 and "обновите карточку" in response.text


def test_the_json_api_flow_and_idempotent_rating(client):
    assert client.get("/api/next").json()["card"]["id"] == "batchnorm"
    attempt = client.post("/api/cards/batchnorm/attempts",
                          json={"text": "running stats at inference", "seconds": 12}).json()
    first = client.post(f"/api/attempts/{attempt['id']}/rating", json={"rating": "good"})
    assert first.status_code == 201 and first.json()["state"] == "learning"
    again = client.post(f"/api/attempts/{attempt['id']}/rating", json={"rating": 3})
    assert again.status_code == 200 and again.json() == first.json()
    other = client.post(f"/api/attempts/{attempt['id']}/rating", json={"rating": 4})
    assert other.status_code == 409 and "already rated" in other.json()["detail"]
    history = client.get("/api/cards/batchnorm/attempts").json()
    assert len(history) == 1 and history[0]["review"]["rating"] == 3
    assert client.get("/api/next").json()["card"]["id"] == "mixed-precision"


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("get", "/api/cards/nope", None, 404, "no card with id 'nope'"),
    ("post", "/api/cards/nope/attempts", {"text": "x"}, 404, "no card"),
    ("post", "/api/cards/batchnorm/attempts", {"text": "x" * 50_001}, 400, "limit is 50000"),
    ("post", "/api/cards/batchnorm/attempts", {"txt": "typo"}, 422, "txt"),
    ("post", "/api/cards/batchnorm/attempts", {"text": "x", "seconds": -3}, 422, "seconds"),
    ("post", "/api/attempts/12345/rating", {"rating": 3}, 404, "no attempt with id 12345"),
    ("get", "/api/attempts/12345/analysis", None, 404, "no attempt"),
])
def test_bad_requests_get_a_specific_4xx(client, method, path, body, status, message):
    response = client.request(method, path, json=body)
    assert response.status_code == status
    assert message in response.text


def test_malformed_json_and_oversized_bodies_are_refused(client):
    broken = client.post("/api/cards/batchnorm/attempts", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert broken.status_code == 422
    huge = client.post("/api/cards/batchnorm/attempts", content=b"x" * 1_000_001,
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "over" in huge.json()["detail"]
    assert client.get("/api/cards/batchnorm/attempts").json() == []


def test_rating_an_attempt_with_the_wrong_card_or_value(client):
    attempt = client.post("/api/cards/batchnorm/attempts", json={"text": "x"}).json()
    wrong = client.post(f"/api/attempts/{attempt['id']}/rating",
                        json={"rating": 3, "card_id": "roc-auc"})
    assert wrong.status_code == 409 and "belongs to card 'batchnorm'" in wrong.json()["detail"]
    bad = client.post(f"/api/attempts/{attempt['id']}/rating", json={"rating": 9})
    assert bad.status_code == 400
    assert client.get(f"/api/attempts/{attempt['id']}").json()["review"] is None


def test_html_in_an_attempt_and_in_a_card_stays_inert(sqlite_url, clock):
    from razbor.scheduling import Planner, SchedulerSettings
    from razbor.storage import Store

    evil = Card(**{**seed_deck().cards[0].__dict__, "analysis":
                   "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"})
    store = Store.open(sqlite_url)
    trainer = Trainer(Deck((evil,)), store, Planner(SchedulerSettings(fuzz=False)), clock=clock)
    with TestClient(create_app(trainer), follow_redirects=False) as client:
        location = submit(client, text="<b onmouseover=alert(4)>bold</b><script>x()</script>"
                          ).headers["location"]
        page = client.get(location).text
    assert "<script>alert" not in page and "<script>x()" not in page
    assert "onerror=" not in page.replace("onerror=alert(3)&gt;", "")
    assert "&lt;b onmouseover=alert(4)&gt;" in page
    assert 'href="javascript' not in page
    store.close()


def test_browse_searches_and_filters(client):
    page = client.get("/browse?q=bf16").text
    assert 'id="found-count">1<' in page and "/cards/mixed-precision" in page
    page = client.get("/browse?topic=metrics").text
    assert "/cards/roc-auc" in page and "/cards/batchnorm\"" not in page


def test_the_interface_speaks_english_on_request_and_remembers_it(client):
    english = client.get("/?lang=en")
    assert "Practise everything" in english.text and english.cookies.get("razbor_lang") == "en"
    assert "Practise everything" in client.get("/").text
    assert "Практиковать всё" in client.get("/?lang=ru").text


def test_stats_page_and_openapi_document_the_flow(client):
    assert "Повторений по дням" in client.get("/stats").text
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/next", "/api/cards/{card_id}/attempts", "/api/attempts/{attempt_id}/analysis",
                 "/api/attempts/{attempt_id}/rating"):
        assert path in paths
    docs = client.get("/docs")
    assert docs.status_code == 200 and "//" not in docs.text.replace("<!doctype", "")
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css", "/static/docs.js"):
        assert asset in docs.text and client.get(asset).status_code == 200


def test_unknown_pages_give_a_readable_error(client):
    response = client.get("/cards/nope")
    assert response.status_code == 404 and "Карточки с id &#39;nope&#39; нет" in response.text


def test_an_attempt_carries_its_feedback_and_a_spoken_one_none(client):
    typed = client.post("/api/cards/roc-auc/attempts", json={
        "text": "Monotone transforms of the scores leave AUC unchanged, it is not calibration.",
        "seconds": 20}).json()
    points = {p["id"]: p for p in typed["feedback"]["key_points"]}
    assert points["auc.not_calibration"]["covered"] and not points["auc.curve"]["covered"]
    assert typed["feedback"]["suggested_rating"] == 2
    aloud = client.post("/api/cards/roc-auc/attempts", json={"answered_aloud": True}).json()
    assert aloud["feedback"] is None
    history = client.get("/api/cards/roc-auc/attempts").json()
    assert [a["feedback"] is not None for a in history] == [False, True]


def test_pages_keep_working_after_postgresql_drops_the_connections(postgres_url, clock,
                                                                   monkeypatch):
    """A server restart or an idle timeout closes the pooled connections; a connection that
    sat idle is pinged before use and replaced, so no request fails."""
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE", 0.0)
    opened = Store.open(postgres_url)
    trainer = Trainer(seed_deck(), opened, clock=clock)
    try:
        with TestClient(create_app(trainer), follow_redirects=False) as http:
            assert http.get("/practice").status_code == 303
            killer = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
            with killer.connect() as db:
                ended = db.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            assert ended >= 1
            assert http.get("/practice").status_code == 303
            assert http.post("/api/cards/batchnorm/attempts",
                             json={"answered_aloud": True}).status_code == 201
    finally:
        opened.close()


def test_the_language_cookie_is_set_only_for_a_language_razbor_has(client):
    chosen = client.get("/browse?q=x&lang=en")
    assert "razbor_lang=en; Max-Age=31536000; Path=/; SameSite=lax" in chosen.headers[
        "set-cookie"]
    assert "set-cookie" not in client.get("/browse?lang=fr").headers
    assert "set-cookie" not in client.get("/browse").headers
