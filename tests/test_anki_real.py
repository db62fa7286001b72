"""Packages of the real Anki: its own Python library (the `anki` package, with the desktop's Rust
backend) makes a collection, answers cards with its scheduler and exports it, and imports what
razbor exports. Nothing here is built by hand, so the tests follow Anki's actual format."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.decks import load_deck
from razbor.decks.anki import FIELDS, MODEL_NAME
from razbor.decks.notes import media_reference
from razbor.practice import Trainer
from razbor.scheduling import Planner, Rating, SchedulerSettings
from razbor.storage import Store
from razbor.storage.review_log import reviews_of

from .test_media import png

anki_collection = pytest.importorskip("anki.collection", reason="pip install anki (the test "
                                      "extra has it)")
Collection = anki_collection.Collection

DROPOUT_BACK = ("Dropout zeroes random units during training. At inference every unit is kept "
                "and activations are scaled to keep the expected value.")
DROPOUT_ANSWERS = (Rating.AGAIN, Rating.GOOD, Rating.GOOD)
CLOZE_ANSWERS = (Rating.HARD,)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="razbor")


def new_collection(folder: Path):
    folder.mkdir(parents=True)
    return Collection(str(folder / "collection.anki2"))


def answer(collection, card_id: int, ratings) -> None:
    for rating in ratings:
        card = collection.get_card(card_id)
        card.start_timer()
        collection.sched.answerCard(card, int(rating))


@pytest.fixture
def anki_deck(tmp_path):
    """A real collection: a Basic note with an image and two tags, a Cloze note with a tag,
    both in one deck and answered through Anki's scheduler; closed by the fixture."""
    collection = new_collection(tmp_path / "anki-profile")
    image = collection.media.write_data("dropout curve.png", png())
    deck_id = collection.decks.id("Interview")
    basic = collection.new_note(collection.models.by_name("Basic"))
    basic["Front"] = "What does <b>dropout</b> do at training and inference time?"
    basic["Back"] = f'{DROPOUT_BACK}<br><img src="{image}">'
    basic.tags = ["dl", "regularization"]
    collection.add_note(basic, deck_id)
    cloze = collection.new_note(collection.models.by_name("Cloze"))
    cloze["Text"] = "Adam keeps running means of the {{c1::gradient}} and of its {{c2::square}}."
    cloze.tags = ["optimisation"]
    collection.add_note(cloze, deck_id)
    answer(collection, basic.cards()[0].id, DROPOUT_ANSWERS)
    answer(collection, cloze.cards()[0].id, CLOZE_ANSWERS)
    yield collection, image
    collection.close()


def export_from_anki(collection, out: Path, kind: str) -> Path:
    """The collection as Anki's own exporters write it: an .apkg in the current format (what
    Anki writes by default), one for older Anki versions (legacy), or a whole-collection
    .colpkg."""
    if kind == "colpkg":
        collection.export_collection_package(str(out), include_media=True, legacy=True)
        collection.reopen()
    else:
        collection.export_anki_package(
            out_path=str(out), limit=None, options=anki_collection.ExportAnkiPackageOptions(
                with_scheduling=True, with_media=True, legacy=kind == "legacy-apkg"))
    return out


@pytest.mark.parametrize("kind", ["apkg", "legacy-apkg", "colpkg"])
def test_a_package_exported_by_anki_imports_with_tags_media_and_history(
        anki_deck, tmp_path, sqlite_url, kind):
    collection, image = anki_deck
    package = export_from_anki(collection, tmp_path / f"interview.{kind.split('-')[-1]}", kind)
    out = tmp_path / "deck"
    result = invoke("import", "anki", str(package), "--out", str(out), "--topic", "anki",
                    "--history", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "2 cards imported" in result.output and "1 media files" in result.output
    assert "4 reviews recorded for 'local'" in result.output
    cards = {card.title.split()[0]: card for card in load_deck(out)}
    dropout, adam = cards["What"], cards["Adam"]
    assert dropout.title == "What does dropout do at training and inference time?"
    assert dropout.topics == ("anki", "dl", "regularization")
    assert f"![](<{media_reference(image)}>)" in dropout.short_answer
    assert (out / "media" / image).read_bytes() == png()
    assert adam.topics == ("anki", "optimisation")
    assert adam.title == "Adam keeps running means of the […] and of its […]."
    assert "**gradient**" in adam.short_answer and "**square**" in adam.short_answer
    assert invoke("check", str(out)).exit_code == 0
    store = Store.open(sqlite_url)
    history = reviews_of(store, "local")
    store.close()
    ratings = {card_id: [review.rating for review in history if review.card_id == card_id]
               for card_id in (dropout.id, adam.id)}
    assert ratings == {dropout.id: [int(r) for r in DROPOUT_ANSWERS],
                       adam.id: [int(r) for r in CLOZE_ANSWERS]}


def import_into_anki(package: Path, profile: Path):
    collection = new_collection(profile)
    request = anki_collection.ImportAnkiPackageRequest(
        package_path=str(package),
        options=anki_collection.ImportAnkiPackageOptions(with_scheduling=True))
    log = collection.import_anki_package(request).log
    return collection, log


def test_razbor_export_with_history_imports_into_anki_with_fields_tags_and_review_log(
        tmp_path, seed_deck_dir, sqlite_url):
    store = Store.open(sqlite_url)
    trainer = Trainer(load_deck(seed_deck_dir), store, Planner(SchedulerSettings(fuzz=False)))
    user = trainer.user()
    practised = [("batchnorm", Rating.GOOD), ("roc-auc", Rating.AGAIN), ("batchnorm", Rating.EASY)]
    for card_id, rating in practised:
        attempt = trainer.submit_attempt(user, card_id, "an attempt", False, 12)
        trainer.rate(user, attempt.id, rating)
    store.close()
    package = tmp_path / "razbor.apkg"
    result = invoke("export", "anki", str(package), "--with-history", "--deck",
                    str(seed_deck_dir), "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    collection, log = import_into_anki(package, tmp_path / "fresh-profile")
    try:
        assert len(log.new) == 4 and not log.conflicting
        notes = {collection.get_note(note_id)["Card id"]: collection.get_note(note_id)
                 for note_id in collection.find_notes("")}
        batchnorm = notes["batchnorm"]
        assert batchnorm.note_type()["name"] == MODEL_NAME and list(batchnorm.keys()) == \
            list(FIELDS)
        assert batchnorm["Title"] == trainer.card("batchnorm").title
        assert "Ключевые пункты" in batchnorm["Rubric"] and "<li>" in batchnorm["Rubric"]
        assert batchnorm["Card file"].startswith("---\nid: batchnorm")
        assert set(batchnorm.tags) == set(trainer.card("batchnorm").topics)
        assert trainer.card("batchnorm").title in batchnorm.cards()[0].question()
        revlog = collection.db.all("SELECT cid, ease FROM revlog ORDER BY id")
        card_of = {notes[card_id].cards()[0].id: card_id for card_id in ("batchnorm", "roc-auc")}
        assert [(card_of[cid], ease) for cid, ease in revlog] == \
            [(card_id, int(rating)) for card_id, rating in practised]
        assert notes["batchnorm"].cards()[0].type == 2, "two good answers: in review"
        assert notes["roc-auc"].cards()[0].type == 1, "forgotten once: still learning"
        assert notes["mixed-precision"].cards()[0].type == 0, "never practised: new"
    finally:
        collection.close()


def test_cards_from_anki_go_back_to_anki_with_their_image(anki_deck, tmp_path, sqlite_url):
    collection, image = anki_deck
    package = export_from_anki(collection, tmp_path / "interview.apkg", "legacy-apkg")
    out = tmp_path / "deck"
    assert invoke("import", "anki", str(package), "--out", str(out), "--history",
                  "--db", sqlite_url).exit_code == 0
    again = tmp_path / "again.apkg"
    result = invoke("export", "anki", str(again), "--with-history", "--deck", str(out),
                    "--db", sqlite_url)
    assert result.exit_code == 0 and "1 media files and 4 reviews" in result.output
    fresh, log = import_into_anki(again, tmp_path / "fresh-profile")
    try:
        assert len(log.new) == 2
        media_folder = Path(fresh.media.dir())
        assert (media_folder / image).read_bytes() == png()
        dropout = next(fresh.get_note(note_id) for note_id in fresh.find_notes("dropout"))
        assert f'<img src="{image}"' in dropout["Short answer"]
        assert set(dropout.tags) == {"imported", "dl", "regularization"}
        assert fresh.db.scalar("SELECT count() FROM revlog") == 4
    finally:
        fresh.close()
