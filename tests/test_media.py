"""Images of imported notes on razbor's pages: an imported image shows, served from the deck's
media folder by /media/NAME, and nothing else is served or fetched."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from razbor.accounts import hash_password
from razbor.cli import main
from razbor.decks import load_deck
from razbor.practice import Trainer
from razbor.rendering import render_markdown
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage import Store
from razbor.storage.accounts import Accounts
from razbor.web.app import create_app

from .conftest import LiveServer
from .test_accounts import PASSWORD
from .test_anki import BASIC, anki_package
from .test_browser import CHROMIUM, LAUNCH_ARGS

ANSWER = ("A ROC curve plots the true positive rate against the false positive rate. "
          "Its area is the chance a positive outranks a negative.")


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG of red pixels, written by hand so the test needs no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
MEDIA = {"roc curve.png": png(), "drawing.svg": SVG, "fake.png": b"#!/bin/sh\necho not an image\n"}


@pytest.fixture
def deck_folder(tmp_path) -> Path:
    """A deck imported from an .apkg whose note shows an image (and names two bad files)."""
    back = (ANSWER + '<br><img src="roc curve.png" alt="ROC curve">'
            '<img src="drawing.svg"><img src="fake.png"><img src="https://tracker.example/p.png">')
    package = anki_package(tmp_path / "roc.apkg", notes=[
        (BASIC, ["What does the ROC AUC measure?", back, ""], ["metrics"])], media=MEDIA)
    folder = tmp_path / "deck"
    result = CliRunner().invoke(main, ["import", "anki", str(package), "--out", str(folder),
                                       "--topic", "anki"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def trainer(deck_folder, sqlite_url):
    store = Store.open(sqlite_url)
    yield Trainer(load_deck(deck_folder), store, Planner(SchedulerSettings(fuzz=False)))
    store.close()


@pytest.fixture
def client(trainer):
    with TestClient(create_app(trainer), follow_redirects=False) as http:
        yield http


def analysis_page(client, card_id: str) -> str:
    made = client.post(f"/api/cards/{card_id}/attempts", json={"text": "ranking", "seconds": 5})
    return client.get(f"/attempts/{made.json()['id']}?reveal=1").text


def test_an_imported_image_shows_on_the_card_and_is_served_as_an_image(client, trainer):
    card = next(iter(trainer.deck))
    page = analysis_page(client, card.id)
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == ["/media/roc%20curve.png", "/media/drawing.svg", "/media/fake.png"]
    assert "tracker.example" not in page, "a remote image is neither shown nor linked"
    image = client.get(sources[0])
    assert image.status_code == 200 and image.content == MEDIA["roc curve.png"]
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]
    assert "img-src 'self'" in client.get(f"/cards/{card.id}").headers["content-security-policy"]


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/media/drawing.svg", 403, "SVG images are not served"),
    ("/media/fake.png", 403, "not the PNG image its name says"),
    ("/media/missing.png", 404, "no such file"),
    ("/media/.hidden.png", 400, "plain file name"),
    ("/media/..%5C..%5Canki%5Croc.png", 400, "plain file name"),
    ("/media/..%2F..%2Fetc%2Fpasswd", 404, ""),
    ("/media/../anki/roc.png", 404, ""),
])
def test_anything_but_a_raster_image_of_the_media_folder_is_refused(client, path, status,
                                                                    message):
    response = client.get(path)
    assert response.status_code == status and message in response.text
    assert not response.headers["content-type"].startswith("image/")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_symbolic_link_out_of_the_media_folder_is_refused(client, deck_folder, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    (deck_folder / "media" / "link.png").symlink_to(outside)
    response = client.get("/media/link.png")
    assert response.status_code == 403 and "symbolic link" in response.text


def test_only_images_of_the_deck_media_folder_render_as_images():
    assert render_markdown("![plot](<../media/a b.png>)") == \
        '<p><img src="/media/a%20b.png" alt="plot"></p>\n'
    for elsewhere in ("https://example.com/a.png", "/media/a.png", "../media/../a.png",
                      "../secret/a.png", "data:image/png;base64,iVBORw0KGgo="):
        assert render_markdown(f"![plot]({elsewhere})") == "<p>plot</p>\n"


def test_with_accounts_on_the_media_route_needs_sign_in(trainer):
    accounts = Accounts(trainer.store)
    accounts.add_user("anna", hash_password(PASSWORD), "member", datetime.now(UTC))
    app = create_app(trainer, accounts=accounts)
    with TestClient(app, follow_redirects=False) as http:
        response = http.get("/media/roc%20curve.png")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert http.post("/login", data={"name": "anna", "password": PASSWORD}).status_code == 303
        assert http.get("/media/roc%20curve.png").content == MEDIA["roc curve.png"]


@pytest.mark.browser
def test_the_image_renders_in_chromium(deck_folder, sqlite_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    card_id = next(iter(load_deck(deck_folder))).id
    server = LiveServer(sqlite_url, deck=deck_folder).start()
    try:
        with sync_api.sync_playwright() as running:
            browser = running.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page()
            page.goto(f"{server.url}/cards/{card_id}")
            page.fill("#attempt-text", "It measures ranking quality.")
            page.press("#attempt-text", "Control+Enter")
            page.wait_for_url(re.compile(r"/attempts/\d+$"))
            page.goto(page.url + "?reveal=1")
            image = page.locator('img[alt="ROC curve"]')
            image.scroll_into_view_if_needed()
            page.wait_for_function("document.querySelector('img[alt=\"ROC curve\"]').complete")
            assert image.evaluate("element => element.naturalWidth") == 3
            browser.close()
    finally:
        server.stop()
