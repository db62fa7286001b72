"""Anki packages in and out: notes become cards that check and practise, and back again."""

from __future__ import annotations

import itertools
import json
import sqlite3
import zipfile
from datetime import timedelta
from pathlib import Path

import genanki
import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.decks import load_deck
from razbor.decks.anki import AnkiPackage, PackageError, note_guid
from razbor.decks.notes import PastReview
from razbor.practice import Trainer
from razbor.scheduling import Planner, Rating, SchedulerSettings
from razbor.storage import StorageError, Store
from razbor.storage.review_log import UnknownUser, import_reviews, reviews_of

from .conftest import NOW, SEED_IDS, Clock, seed_deck
from .test_cli import refused
from .test_decks import VALID

BASIC = genanki.Model(1_600_000_001, "Basic (test)", fields=[{"name": "Front"}, {"name": "Back"},
                                                             {"name": "Extra"}],
                      templates=[{"name": "Card 1", "qfmt": "{{Front}}",
                                  "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}])
CLOZE = genanki.Model(1_600_000_002, "Cloze (test)", model_type=genanki.Model.CLOZE,
                      fields=[{"name": "Text"}, {"name": "Back Extra"}],
                      templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}",
                                  "afmt": "{{cloze:Text}}<br>{{Back Extra}}"}])
DROPOUT_ANSWER = ("Dropout zeroes random units during training. At inference every unit is kept "
                  "and activations are scaled to keep the expected value.")
NOTES = [
    (BASIC, ["What does dropout do at training and inference time?",
             DROPOUT_ANSWER + '<br><img src="dropout.png">',
             "Srivastava et al., 2014 [sound:lecture.mp3]"], ["regularization", "dl"]),
    (BASIC, ["Что такое <b>AUC ROC</b>?",
             "<div>Вероятность того, что случайный положительный пример получит оценку выше "
             "случайного отрицательного.</div>", ""], ["metrics"]),
    (CLOZE, ["Adam keeps running means of the {{c1::gradient}} and of its {{c2::square::power}}.",
             "Kingma &amp; Ba, 2015"], []),
    (BASIC, ["A note with no back", "", ""], []),
]


def anki_package(path: Path, notes=NOTES, media: dict[str, bytes] | None = None,
                 reviews: dict[int, list[tuple[int, int, int]]] | None = None) -> Path:
    """An .apkg as Anki writes it: the collection SQLite, the media list and numbered files.

    reviews maps a note's index to (days after NOW, ease, revlog type) rows of its first card.
    """
    media = {"dropout.png": b"\x89PNG fake", "lecture.mp3": b"ID3 fake"} if media is None \
        else media
    deck = genanki.Deck(1_700_000_001, "Interview")
    for model, fields, tags in notes:
        deck.add_note(genanki.Note(model, fields, tags=tags))
    collection = path.with_suffix(".anki2")
    connection = sqlite3.connect(collection)
    genanki.Package(deck).write_to_db(connection.cursor(), NOW.timestamp(),
                                      itertools.count(int(NOW.timestamp() * 1000)))
    card_ids = [row[0] for row in connection.execute("SELECT id FROM cards ORDER BY nid, ord")]
    for index, rows in (reviews or {}).items():
        for days, ease, kind in rows:
            at = int((NOW + timedelta(days=days, minutes=index)).timestamp() * 1000)
            connection.execute("INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)",
                               (at, card_ids[index], -1, ease, 1, 0, 2500, 8000, kind))
    connection.commit()
    connection.close()
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(collection, "collection.anki2")
        archive.writestr("media", json.dumps({str(n): name for n, name in enumerate(media)}))
        for number, content in enumerate(media.values()):
            archive.writestr(str(number), content)
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="razbor")


def test_a_package_becomes_cards_that_pass_check_with_tags_and_media(tmp_path):
    package = anki_package(tmp_path / "interview.apkg")
    deck_folder = tmp_path / "deck"
    result = invoke("import", "anki", str(package), "--out", str(deck_folder), "--topic", "anki")
    assert result.exit_code == 0, result.output
    assert "razbor: skipped note 4: the back is empty" in result.stderr
    assert "3 cards imported" in result.stdout and "2 media files" in result.stdout
    assert invoke("check", str(deck_folder)).exit_code == 0
    by_first_word = {card.title.split()[0]: card for card in load_deck(deck_folder)}
    dropout, auc, adam = by_first_word["What"], by_first_word["Что"], by_first_word["Adam"]
    assert dropout.title == "What does dropout do at training and inference time?"
    assert dropout.topics == ("anki", "regularization", "dl") and dropout.lang == "en"
    assert dropout.short_answer.startswith("Dropout zeroes random units")
    assert "![](<../media/dropout.png>)" in dropout.short_answer
    assert "[sound:lecture.mp3]" in dropout.analysis
    assert (deck_folder / "media" / "dropout.png").read_bytes() == b"\x89PNG fake"
    assert auc.lang == "ru" and auc.title == "Что такое AUC ROC?"
    assert auc.id.startswith("chto-takoe-auc-roc-")
    assert adam.title == "Adam keeps running means of the […] and of its [power]."
    assert "**gradient**" in adam.short_answer and adam.analysis == "Kingma & Ba, 2015"


def test_card_ids_are_stable_so_importing_again_overwrites_the_same_files(tmp_path):
    package = anki_package(tmp_path / "interview.apkg")
    out = tmp_path / "deck"
    assert invoke("import", "anki", str(package), "--out", str(out)).exit_code == 0
    first = sorted(path.name for path in (out / "imported").iterdir())
    again = invoke("import", "anki", str(package), "--out", str(out))
    assert again.exit_code == 1 and "use --force" in again.output
    assert invoke("import", "anki", str(package), "--out", str(out), "--force").exit_code == 0
    assert sorted(path.name for path in (out / "imported").iterdir()) == first


def test_an_imported_card_without_a_rubric_is_graded_against_its_answer(tmp_path):
    package = anki_package(tmp_path / "interview.apkg")
    assert invoke("import", "anki", str(package), "--out", str(tmp_path / "deck")).exit_code == 0
    deck = load_deck(tmp_path / "deck")
    card = next(card for card in deck if card.title.startswith("What does dropout"))
    assert card.rubric.key_points == ()
    store = Store.open(f"sqlite:///{tmp_path / 'razbor.sqlite3'}")
    trainer = Trainer(deck, store, Planner(SchedulerSettings(fuzz=False)), clock=Clock())
    attempt = trainer.submit_attempt(trainer.user(), card.id, "During training dropout zeroes "
                                     "random units; at inference all units stay and the "
                                     "activations are rescaled.", False, 30)
    feedback = trainer.feedback(attempt)
    store.close()
    assert [point.id for point in feedback.key_points] == [f"{card.id}.answer.1",
                                                           f"{card.id}.answer.2"]
    assert feedback.covered_ids()


def test_export_then_import_gives_every_card_back(tmp_path, seed_deck_dir):
    package = tmp_path / "seed.apkg"
    result = invoke("export", "anki", str(package), "--deck", str(seed_deck_dir))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{len(SEED_IDS)} notes, 0 media files and 0 reviews")
    assert invoke("import", "anki", str(package), "--out", str(tmp_path / "back")).exit_code == 0
    original, back = load_deck(seed_deck_dir), load_deck(tmp_path / "back")
    for card in original:
        returned = back.get(card.id).to_dict()
        assert set(card.topics) <= set(returned.pop("topics"))
        expected = card.to_dict()
        expected.pop("topics")
        assert returned == expected


def test_the_exported_note_has_every_section_the_rubric_and_a_guid_from_the_card_id(
        tmp_path, seed_deck_dir):
    package = tmp_path / "seed.apkg"
    assert invoke("export", "anki", str(package), "--deck", str(seed_deck_dir)).exit_code == 0
    with AnkiPackage(package) as opened:
        notes = {note.guid: dict(note.fields) for note in opened.notes}
    card = load_deck(seed_deck_dir).get("roc-auc")
    fields = notes[note_guid("roc-auc")]
    assert fields["Card id"] == "roc-auc" and fields["Title"] == card.title
    assert all(fields[name] for name in ("Short answer", "Analysis", "Mistakes", "How to say"))
    assert fields["Rubric"].startswith("<p>Ключевые пункты</p><ol><li>")
    assert card.rubric.key_points[0].text.split()[0] in fields["Rubric"]
    assert "<math" in fields["Analysis"] or "<p>" in fields["Analysis"]
    again = tmp_path / "again.apkg"
    assert invoke("export", "anki", str(again), "--deck", str(seed_deck_dir)).exit_code == 0
    with AnkiPackage(again) as opened:
        assert {note.guid for note in opened.notes} == set(notes)


def test_a_section_edited_in_anki_comes_back_from_its_field(tmp_path, seed_deck_dir):
    package = tmp_path / "seed.apkg"
    assert invoke("export", "anki", str(package), "--deck", str(seed_deck_dir)).exit_code == 0
    edit_field(package, note_guid("batchnorm"), "Short answer",
               "<div>Normalises each feature with <b>batch statistics</b>.</div>")
    assert invoke("import", "anki", str(package), "--out", str(tmp_path / "back")).exit_code == 0
    original = load_deck(seed_deck_dir).get("batchnorm")
    edited = load_deck(tmp_path / "back").get("batchnorm")
    assert edited.short_answer == "Normalises each feature with **batch statistics**."
    assert edited.analysis == original.analysis and edited.rubric == original.rubric


def edit_field(package: Path, guid: str, name: str, value: str) -> None:
    """Change one field of one note, as editing it in Anki and exporting again would."""
    with zipfile.ZipFile(package) as archive:
        collection, media = archive.read("collection.anki2"), archive.read("media")
    database = package.with_suffix(".anki2")
    database.write_bytes(collection)
    connection = sqlite3.connect(database)
    fields = connection.execute("SELECT flds FROM notes WHERE guid = ?", (guid,)).fetchone()[0]
    values = fields.split("\x1f")
    values[["Title", "Question", "Short answer"].index(name)] = value
    connection.execute("UPDATE notes SET flds = ? WHERE guid = ?", ("\x1f".join(values), guid))
    connection.commit()
    connection.close()
    with zipfile.ZipFile(package, "w") as archive:
        archive.write(database, "collection.anki2")
        archive.writestr("media", media)


def practised(database_url: str, seed_deck_dir: Path) -> list[tuple[str, int]]:
    """Rate two seed cards a few times over two weeks; returns (card, rating) in order."""
    clock = Clock()
    store = Store.open(database_url)
    trainer = Trainer(load_deck(seed_deck_dir), store, Planner(SchedulerSettings(fuzz=False)),
                      clock=clock)
    user = trainer.user()
    done = []
    for day, card_id, rating in ((0, "roc-auc", 3), (0, "batchnorm", 1), (1, "batchnorm", 3),
                                 (3, "roc-auc", 1), (14, "roc-auc", 4)):
        clock.now = NOW + timedelta(days=day, minutes=len(done))
        attempt = trainer.submit_attempt(user, card_id, "", True, 12.5)
        trainer.rate(user, attempt.id, rating)
        done.append((card_id, rating))
    store.close()
    return done


def test_history_goes_out_as_anki_revlog_and_comes_back_as_the_same_reviews(tmp_path,
                                                                            seed_deck_dir):
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    done = practised(source, seed_deck_dir)
    package = tmp_path / "seed.apkg"
    result = invoke("export", "anki", str(package), "--deck", str(seed_deck_dir),
                    "--with-history", "--db", source)
    assert result.exit_code == 0 and "and 5 reviews written" in result.stdout, result.output
    revlog, cards = anki_rows(package)
    assert [(row["ease"], row["time"]) for row in revlog] == [(rating, 12500) for _, rating in done]
    assert revlog[0]["type"] == 0 and {row["type"] for row in revlog} <= {0, 1, 2}
    roc_auc = cards[note_guid("roc-auc")]
    assert roc_auc["type"] == 2 and roc_auc["queue"] == 2 and roc_auc["reps"] == 3
    assert roc_auc["ivl"] >= 1 and set(json.loads(roc_auc["data"])) == {"s", "d", "lrt"}
    assert cards[note_guid("mixed-precision")]["type"] == 0

    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    result = invoke("import", "anki", str(package), "--out", str(tmp_path / "back"), "--history",
                    "--db", target, "--no-fuzz")
    assert result.exit_code == 0 and "5 reviews recorded for 'local'" in result.stdout
    assert review_log(target) == review_log(source)


def anki_rows(package: Path) -> tuple[list[dict], dict[str, dict]]:
    database = package.with_suffix(".anki2")
    with zipfile.ZipFile(package) as archive:
        database.write_bytes(archive.read("collection.anki2"))
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    revlog = [dict(row) for row in connection.execute("SELECT * FROM revlog ORDER BY id")]
    cards = {row["guid"]: dict(row) for row in connection.execute(
        "SELECT notes.guid, cards.* FROM cards JOIN notes ON notes.id = cards.nid")}
    connection.close()
    return revlog, cards


def review_log(url: str) -> list[tuple]:
    """Each review's card, rating, time and FSRS state after it, as the database holds them."""
    store = Store.open(url, create=False)
    user = store.ensure_user("local", NOW)
    log = store.reviews_between(user, NOW - timedelta(days=1), NOW + timedelta(days=30))
    store.close()
    return sorted((r.reviewed_at, r.card_id, r.rating, r.state_after.state,
                   round(r.state_after.stability, 6)) for r in log)


def test_an_anki_review_log_is_replayed_into_the_database(tmp_path):
    package = anki_package(tmp_path / "interview.apkg", reviews={
        0: [(0, 3, 0), (1, 3, 1), (2, 0, 4), (5, 1, 1)], 1: [(0, 4, 0)]})
    url = f"sqlite:///{tmp_path / 'razbor.sqlite3'}"
    result = invoke("import", "anki", str(package), "--out", str(tmp_path / "deck"), "--history",
                    "--db", url, "--user", "anna")
    assert result.exit_code == 0 and "4 reviews recorded for 'anna'" in result.output
    store = Store.open(url, create=False)
    user = store.ensure_user("anna", NOW)
    dropout = next(card.id for card in load_deck(tmp_path / "deck")
                   if card.title.startswith("What does dropout"))
    ratings = [review.rating for _, review in reversed(store.history(user, dropout))]
    assert ratings == [3, 3, 1]
    assert store.schedule(user, dropout).state == "relearning"
    store.close()
    again = invoke("import", "anki", str(package), "--out", str(tmp_path / "deck"), "--force",
                   "--history", "--db", url, "--user", "anna")
    assert again.exit_code == 1 and "already has history" in again.output


def test_a_failed_history_import_writes_no_card_file(tmp_path):
    package = anki_package(tmp_path / "interview.apkg", reviews={0: [(0, 3, 0)]})
    out = tmp_path / "deck"
    result = invoke("import", "anki", str(package), "--out", str(out), "--history", "--db",
                    f"sqlite:///{tmp_path}")
    assert result.exit_code == 2 and not out.exists()


def zip_with(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def test_a_newer_package_without_zstandard_installed_names_both_ways_out(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr("razbor.decks.anki._zstandard", lambda: None)
    package = zip_with(tmp_path / "newer.apkg", {"collection.anki21b": b"\x28\xb5\x2f\xfd",
                                                 "collection.anki2": b""})
    assert refused("import", "anki", str(package), "--out", str(tmp_path / "deck")) == (
        f"{package}: holds only the newer compressed collection (collection.anki21b), which "
        "razbor reads with the zstandard package (fix: pip install zstandard, or export the "
        "deck from Anki as an .apkg with 'Support older Anki versions' ticked)")


def declaring_size(path: Path, size: int) -> Path:
    """Rewrite the central directory so its one entry claims `size` bytes unpacked."""
    data = bytearray(path.read_bytes())
    directory = data.rindex(b"PK\x01\x02")
    data[directory + 24:directory + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: (p.write_bytes(b"not a zip"), p)[1], "is not an Anki package (not a zip archive)"),
    (lambda p: zip_with(p, {"collection.anki21b": b"not zstd", "collection.anki2": b""}),
     "its entry 'collection.anki21b' cannot be unpacked (zstd decompress error"),
    (lambda p: zip_with(p, {"notes.txt": b"hello"}), "holds no Anki collection"),
    (lambda p: zip_with(p, {"collection.anki2": b"hello, not a database"}),
     "its collection is not an SQLite database"),
    (lambda p: zip_with(p, {"collection.anki2": b"SQLite format 3\x00" + b"\x00" * 200}),
     "its collection cannot be read"),
    (lambda p: declaring_size(zip_with(p, {"collection.anki2": b"x" * 1000}), 4_000_000_000),
     "unpacks to 3815 MiB, more than the 1024 MiB allowed"),
])
def test_an_unusable_package_is_one_line_and_writes_nothing(tmp_path, make, message):
    package = make(tmp_path / "bad.apkg")
    out = tmp_path / "deck"
    assert refused("import", "anki", str(package), "--out", str(out)).startswith(
        f"{package}: {message}")
    assert not out.exists()


def test_a_collection_that_is_not_ankis_is_refused(tmp_path):
    database = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE things (id INTEGER)")
    connection.commit()
    connection.close()
    package = zip_with(tmp_path / "other.apkg", {"collection.anki2": database.read_bytes()})
    assert "no table cards, col, notes, revlog: not an Anki collection" in refused(
        "import", "anki", str(package), "--out", str(tmp_path / "deck"))


@pytest.mark.parametrize("name", ["../../escape.png", "/etc/passwd", "sub\\dir.png", ".."])
def test_a_media_name_that_is_a_path_is_refused_before_writing(tmp_path, name):
    package = anki_package(tmp_path / "hostile.apkg", media={name: b"payload"})
    out = tmp_path / "deck"
    assert "which is not a plain file name" in refused("import", "anki", str(package), "--out",
                                                        str(out))
    assert not out.exists() and not (tmp_path / "escape.png").exists()


def test_the_size_limit_counts_what_the_package_unpacks_to(tmp_path):
    package = anki_package(tmp_path / "interview.apkg")
    with pytest.raises(PackageError, match="more than the 0 MiB allowed"):
        AnkiPackage(package, max_bytes=1000)


def test_export_options_stay_with_the_history_export(tmp_path, seed_deck_dir):
    assert refused("export", "-o", str(tmp_path / "h.jsonl"), "anki", str(tmp_path / "d.apkg")
                   ).startswith("options of `razbor export` do not apply to `export anki`")
    assert refused("export", "anki", str(tmp_path / "no" / "d.apkg")).startswith(
        f"OUT: the folder {tmp_path / 'no'} does not exist")
    assert refused("export", "anki", str(tmp_path / "d.apkg"), "--with-history", "--db",
                   f"sqlite:///{tmp_path / 'none.sqlite3'}").startswith("--db: there is no "
                                                                        "database at")
    assert not (tmp_path / "d.apkg").exists()


def test_a_replayed_log_is_stored_all_or_nothing_on_each_database(store):
    """The storage half of --history, on SQLite and PostgreSQL: one transaction per import."""
    cards = list(seed_deck())[:3]
    planner = Planner(SchedulerSettings(fuzz=False))

    def replay(before, rating, at):
        return planner.review(before, Rating(rating), at)

    log = [PastReview(cards[0].id, 3, NOW, 8.0), PastReview(cards[0].id, 3, NOW + timedelta(days=1),
                                                             5.0),
           PastReview(cards[1].id, 1, NOW, 20.0)]
    assert import_reviews(store, "anna", cards, log, replay, NOW) == 3
    exported = reviews_of(store, "anna")
    assert [(r.card_id, r.rating, r.seconds) for r in exported] == [
        (cards[0].id, 3, 8.0), (cards[0].id, 3, 5.0), (cards[1].id, 1, 20.0)]
    assert exported[1].before == exported[0].after and exported[1].after.state == "review"
    user = store.ensure_user("anna", NOW)
    assert store.schedule(user, cards[0].id) == exported[1].after
    counts = store.topic_counts(user, NOW + timedelta(days=30))
    assert sum(topic.due for topic in counts) == 2 and sum(topic.new for topic in counts) == 0

    new_card = [PastReview(cards[2].id, 4, NOW + timedelta(days=2), 3.0)]
    with pytest.raises(StorageError, match=f"already has history for 1 of these cards "
                                           f"\\({cards[0].id}\\); nothing was imported"):
        import_reviews(store, "anna", cards, new_card + log[:1], replay, NOW)
    assert len(reviews_of(store, "anna")) == 3 and store.schedule(user, cards[2].id) is None
    with pytest.raises(UnknownUser):
        reviews_of(store, "nobody")


def test_an_export_packs_only_media_inside_the_deck(tmp_path):
    deck = tmp_path / "deck"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the package")
    (deck / "media").mkdir(parents=True)
    (deck / "media" / "plot.png").write_bytes(b"\x89PNG plot")
    (deck / "t").mkdir()
    card_text = VALID.replace("- Mention inverted dropout.", "- Mention inverted dropout.\n\n"
                              "![plot](../media/plot.png) ![leak](../../secret.txt)")
    (deck / "t" / "dropout.md").write_text(card_text, encoding="utf-8")
    package = tmp_path / "d.apkg"
    result = invoke("export", "anki", str(package), "--deck", str(deck))
    assert result.exit_code == 0 and "razbor: no file for media '../../secret.txt'" in result.stderr
    with zipfile.ZipFile(package) as archive:
        assert json.loads(archive.read("media")) == {"0": "plot.png"}
        assert archive.read("0") == b"\x89PNG plot"
    with AnkiPackage(package) as opened:
        assert '<img src="plot.png" alt="plot">' in dict(opened.notes[0].fields)["How to say"]
    result = invoke("import", "anki", str(package), "--out", str(tmp_path / "back"))
    assert result.exit_code == 0 and "1 media files" in result.stdout, result.output
    back = load_deck(tmp_path / "back").get("dropout")
    assert "![plot](<../media/plot.png>)" in back.interview
    assert (tmp_path / "back" / "media" / "plot.png").read_bytes() == b"\x89PNG plot"


def test_the_anki21_collection_is_read_before_the_placeholder_anki2(tmp_path):
    real = anki_package(tmp_path / "real.apkg", media={})
    with zipfile.ZipFile(real) as archive:
        collection = archive.read("collection.anki2")
    package = zip_with(tmp_path / "new.apkg", {"collection.anki2": b"placeholder for old Ankis",
                                               "collection.anki21": collection, "media": b"{}"})
    with AnkiPackage(package) as opened:
        assert len(opened.notes) == len(NOTES)


def test_a_newer_package_is_unpacked_within_the_limits(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    compress = zstandard.ZstdCompressor().compress
    bomb = zip_with(tmp_path / "bomb.apkg", {"collection.anki21b": compress(b"\0" * 3_000_000)})
    with pytest.raises(PackageError, match=r"'collection\.anki21b' unpacks past the size limit"):
        AnkiPackage(bomb, max_bytes=1_000_000)
    garbled = zip_with(tmp_path / "garbled.apkg", {"collection.anki21b": compress(b"x"),
                                                   "media": compress(b"\x0a\x05ab")})
    with pytest.raises(PackageError, match="its media list cannot be read"):
        AnkiPackage(garbled)
