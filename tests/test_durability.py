"""An acknowledged attempt or rating survives SIGKILL of the server right after the response."""

import httpx

from .conftest import LiveServer


def test_acknowledged_writes_survive_sigkill(sqlite_url, seed_deck_dir):
    server = LiveServer(sqlite_url, deck=seed_deck_dir).start()
    try:
        attempt = httpx.post(f"{server.url}/api/cards/roc-auc/attempts",
                             json={"text": "pairwise ranking probability", "seconds": 9})
        assert attempt.status_code == 201
        rated = httpx.post(f"{server.url}/api/attempts/{attempt.json()['id']}/rating",
                           json={"rating": "easy"})
        assert rated.status_code == 201
        server.kill()
    finally:
        server.stop()
    restarted = LiveServer(sqlite_url, deck=seed_deck_dir).start()
    try:
        history = httpx.get(f"{restarted.url}/api/cards/roc-auc/attempts").json()
        assert [a["text"] for a in history] == ["pairwise ranking probability"]
        assert history[0]["review"]["rating"] == 4
        assert history[0]["review"]["id"] == rated.json()["id"]
    finally:
        restarted.stop()


def test_many_writes_in_flight_all_acknowledged_ones_survive(sqlite_url, seed_deck_dir):
    server = LiveServer(sqlite_url, deck=seed_deck_dir).start()
    acknowledged = []
    try:
        with httpx.Client(base_url=server.url) as client:
            for number in range(40):
                response = client.post("/api/cards/batchnorm/attempts",
                                       json={"text": f"attempt {number}", "seconds": 1})
                assert response.status_code == 201
                acknowledged.append(response.json()["id"])
        server.kill()
    finally:
        server.stop()
    restarted = LiveServer(sqlite_url, deck=seed_deck_dir).start()
    try:
        stored = {a["id"] for a in httpx.get(f"{restarted.url}/api/cards/batchnorm/attempts").json()}
        assert set(acknowledged) <= stored
    finally:
        restarted.stop()
