"""Anki packages (.apkg) in and out: cards as notes, and the review log where there is one.

Out: one note per card, of the note type "razbor card" (title, question, the four sections and
the rubric as HTML, the card id, and the card file itself, which no template shows, so an import
gets the card back whole). Note GUIDs, the note type id and the deck ids are derived from card
ids and names, so importing a newer export into Anki updates its notes instead of adding
copies. genanki builds the collection; it writes neither scheduling nor a review log, so razbor
adds both to the collection's SQLite before packing it (see _anki_card and _revlog_row for the
mapping from FSRS).

In: the collection inside the zip (collection.anki21, else collection.anki2) is read with
sqlite3 from memory, within limits on size, entries and work, so a hostile package is refused
with a message instead of filling the disk or the memory. A package in the format of Anki
2.1.50 and later (what Anki exports unless 'Support older Anki versions' is ticked) has its
collection (collection.anki21b), its media list and its media files compressed with zstd, and
the list is protobuf: it is read when the `zstandard` package is installed, within the same
limits, and refused with the two ways out otherwise. Each note becomes a card; a note of the
"razbor card" type comes back from its card file, with the sections edited in Anki taken from
their fields.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import json
import os
import re
import sqlite3
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import BinaryIO

import genanki

from razbor.cards import Card, Rubric
from razbor.decks.markdown import CANONICAL_HEADINGS, dump_card, parse_card
from razbor.decks.notes import (
    SOUND,
    ImportedNote,
    PastReview,
    card_of,
    demote_headings,
    html_to_markdown,
    media_reference,
    title_of,
)
from razbor.labs import lab_names
from razbor.rendering import render_markdown
from razbor.scheduling import Schedule

MODEL_ID = 1_734_526_491  # fixed for good: Anki recognises the note type by it
MODEL_NAME = "razbor card"
DECK_PREFIX = "razbor"
SECTION_FIELDS = {"Short answer": "short_answer", "Analysis": "analysis",
                  "Mistakes": "mistakes", "How to say": "interview"}
FIELDS = ("Title", "Question", *SECTION_FIELDS, "Rubric", "Card id", "Card file")
FRONT = ('<div class="razbor-title">{{Title}}</div>\n'
         '{{#Question}}<div class="razbor-question">{{Question}}</div>{{/Question}}')
BACK = "\n".join(["{{FrontSide}}", "<hr id=answer>",
                  *(f"<h3>{CANONICAL_HEADINGS[name]}</h3>{{{{{field_name}}}}}"
                    for field_name, name in SECTION_FIELDS.items()),
                  "{{#Rubric}}<h3>Рубрика</h3>{{Rubric}}{{/Rubric}}"])
CSS = (".card { font-family: sans-serif; font-size: 18px; text-align: left; max-width: 46em; "
       "margin: 0 auto; }\n.razbor-title { font-size: 1.3em; font-weight: bold; }\n"
       ".razbor-question { margin-top: 0.6em; }\n")
FRONT_FIELDS = ("front", "question", "text", "вопрос", "лицевая сторона")
BACK_FIELDS = ("back", "answer", "ответ", "оборотная сторона")
CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::(.*?))?\}\}", re.S)
MARKDOWN_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*(?:<([^>\n]+)>|([^)\s]+))\s*\)")
HTML_IMAGE_SOURCE = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]*)\"", re.I)
URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
UNSAFE_NAME = re.compile(r"[/\\<>\x00-\x1f\x7f]")

MAX_UNPACKED_BYTES = 1 << 30
MAX_ENTRIES = 100_000
# SQLite virtual-machine steps allowed for reading a collection: generous for any real deck,
# and a bound on what a crafted schema can make the reader do.
MAX_SQLITE_STEPS = 2_000_000_000
SQLITE_HEADER = b"SQLite format 3\x00"
WAL_MODE, ROLLBACK_JOURNAL_MODE = b"\x02\x02", b"\x01\x01"  # header bytes 18-19
DAY_SECONDS = 86_400
REVIEW_KINDS = {None: 0, "learning": 0, "review": 1, "relearning": 2}
ANKI_TYPES = {"learning": 1, "review": 2, "relearning": 3}
NEWER_COLLECTION = "collection.anki21b"
# Fields of the protobuf media list of a newer package: MediaEntries.entries (1), and in each
# MediaEntry the file name (1).
MEDIA_ENTRIES_FIELD = 1
MEDIA_NAME_FIELD = 1


class PackageError(ValueError):
    """A file that is not a usable Anki package; the message names the file and the fix."""


def _zstandard() -> ModuleType | None:
    """The zstd decompressor that packages of Anki 2.1.50 and later need, if installed."""
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


# Out


@dataclass
class ExportSummary:
    notes: int = 0
    media: int = 0
    reviews: int = 0
    missing_media: list[str] = field(default_factory=list)


class _PackageMedia:
    """The deck's files a package carries, each under a name unique in the package."""

    def __init__(self, deck_root: Path):
        self.root = deck_root.resolve()
        self.files: dict[Path, str] = {}
        self.missing: list[str] = []

    def image(self, reference: str, card: Card) -> str | None:
        if URL.match(reference):
            return reference if reference.lower().startswith(("http:", "https:")) else None
        return self._add(Path(card.source).parent / reference, reference)

    def sound(self, name: str) -> str | None:
        return self._add(self.root / "media" / name, name)

    def _add(self, path: Path, reference: str) -> str | None:
        resolved = path.resolve()
        if not resolved.is_file() or not resolved.is_relative_to(self.root):
            self.missing.append(reference)
            return None
        if resolved not in self.files:
            taken = set(self.files.values())
            stem, suffix = resolved.stem, resolved.suffix
            names = itertools.chain([resolved.name],
                                    (f"{stem}-{n}{suffix}" for n in itertools.count(2)))
            self.files[resolved] = next(name for name in names if name not in taken)
        return self.files[resolved]


class _NamesOnly:
    """Media names as an export would give them, without looking for the files."""

    def image(self, reference: str, card: Card) -> str | None:
        return reference if URL.match(reference) else PurePosixPath(reference).name

    def sound(self, name: str) -> str | None:
        return name


def note_fields(card: Card, media: _PackageMedia | _NamesOnly) -> list[str]:
    """The note's fields, in FIELDS order: HTML from razbor's own renderer."""
    sections = [_anki_html(getattr(card, name), card, media) for name in SECTION_FIELDS.values()]
    return [html.escape(card.title), _anki_html(card.question, card, media) if card.question
            else "", *sections, _rubric_html(card.rubric), card.id,
            html.escape(dump_card(card))]


def _anki_html(markdown: str, card: Card, media: _PackageMedia | _NamesOnly) -> str:
    """Rendered Markdown with its images and sounds pointing at the package's media.

    razbor's renderer points images at its web server's /media/ route and drops any other,
    so they are set aside under tokens and put back as <img> tags naming the packaged file.
    """
    kept: list[str] = []

    def keep(tag: str) -> str:
        kept.append(tag)
        return f"RAZBORMEDIA{len(kept) - 1}X"

    def image(match: re.Match) -> str:
        name = media.image((match.group(2) or match.group(3)).strip(), card)
        if name is None:
            return match.group(0)
        return keep(f'<img src="{html.escape(name)}" alt="{html.escape(match.group(1))}">')

    def sound(match: re.Match) -> str:
        name = media.sound(match.group(1).strip())
        return keep(f"[sound:{html.escape(name)}]") if name else match.group(0)

    rendered = render_markdown(SOUND.sub(sound, MARKDOWN_IMAGE.sub(image, markdown)))
    return re.sub(r"RAZBORMEDIA(\d+)X", lambda m: kept[int(m.group(1))], rendered)


def _rubric_html(rubric: Rubric) -> str:
    parts = []
    if rubric.key_points:
        parts.append("<p>Ключевые пункты</p><ol>" + "".join(
            f"<li>{html.escape(point.text)}</li>" for point in rubric.key_points) + "</ol>")
    if rubric.mistakes:
        parts.append("<p>Ошибки</p><ul>" + "".join(
            f"<li>{html.escape(mistake.text)}</li>" for mistake in rubric.mistakes) + "</ul>")
    return "".join(parts)


def note_guid(card_id: str) -> str:
    return genanki.guid_for(DECK_PREFIX, card_id)


def _deck_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big") >> 2 | 1 << 30


def _model() -> genanki.Model:
    return genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": name} for name in FIELDS],
                         templates=[{"name": "Card", "qfmt": FRONT, "afmt": BACK}], css=CSS)


def write_package(cards: Iterable[Card], out: Path, deck_root: Path,
                  history: Sequence[PastReview] = (), now: datetime | None = None
                  ) -> ExportSummary:
    """Write the cards (one Anki sub-deck per primary topic) and their review history as an
    .apkg at out, through a temporary file, so a failed export leaves no half a package."""
    now = now or datetime.now(UTC)
    media = _PackageMedia(deck_root)
    model, decks = _model(), {}
    guids = {}
    for position, card in enumerate(cards):
        name = f"{DECK_PREFIX}::{card.topic}"
        deck = decks.setdefault(name, genanki.Deck(_deck_id(name), name))
        tags = [tag.replace(" ", "_") for tag in card.topics]
        deck.add_note(genanki.Note(model, note_fields(card, media), tags=tags,
                                   guid=note_guid(card.id), due=position))
        guids[card.id] = note_guid(card.id)
    summary = ExportSummary(notes=len(guids), media=len(media.files),
                            missing_media=media.missing)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        collection = Path(work) / "collection.anki2"
        summary.reviews = _write_collection(collection, list(decks.values()), guids, history,
                                            now)
        packed = Path(work) / "package.apkg"
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(collection, "collection.anki2")
            numbered = dict(enumerate(media.files.items()))
            archive.writestr("media", json.dumps({str(n): name for n, (_, name) in
                                                  numbered.items()}, ensure_ascii=False))
            for number, (path, _) in numbered.items():
                archive.write(path, str(number))
        os.replace(packed, out)
    return summary


def _write_collection(path: Path, decks: list[genanki.Deck], guids: dict[str, str],
                      history: Sequence[PastReview], now: datetime) -> int:
    connection = sqlite3.connect(path)
    try:
        cursor = connection.cursor()
        genanki.Package(decks).write_to_db(cursor, now.timestamp(),
                                           itertools.count(int(now.timestamp() * 1000)))
        _declare_scheduler_v2(cursor)
        written = _write_history(cursor, guids, history)
        connection.commit()
    finally:
        connection.close()
    return written


def _declare_scheduler_v2(cursor: sqlite3.Cursor) -> None:
    """Mark the collection as kept by Anki's v2 scheduler (genanki leaves it unsaid, which
    means v1): razbor's ratings are the four buttons of v2 and later, and Anki's importer
    upgrades the review log of a v1 collection, moving a learning card's Good to Easy."""
    conf = json.loads(cursor.execute("SELECT conf FROM col").fetchone()[0])
    cursor.execute("UPDATE col SET conf = ?", (json.dumps({**conf, "schedVer": 2}),))


def _write_history(cursor: sqlite3.Cursor, guids: dict[str, str],
                   history: Sequence[PastReview]) -> int:
    """Each card's reviews as revlog rows, and its last schedule on the Anki card."""
    anki_cards = dict(cursor.execute("SELECT notes.guid, cards.id FROM cards JOIN notes ON "
                                     "cards.nid = notes.id WHERE cards.ord = 0"))
    created = cursor.execute("SELECT crt FROM col").fetchone()[0]
    by_card: dict[str, list[PastReview]] = defaultdict(list)
    for review in history:
        if review.card_id in guids and review.after is not None:
            by_card[review.card_id].append(review)
    used_ids: set[int] = set()
    for card_id, reviews in by_card.items():
        anki_id = anki_cards[guids[card_id]]
        for review in reviews:
            cursor.execute("INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)",
                           _revlog_row(review, review.after, anki_id, used_ids))
        state = _anki_card(reviews[-1].after, reviews, created)
        cursor.execute(f"UPDATE cards SET {', '.join(f'{key} = ?' for key in state)} "
                       "WHERE id = ?", (*state.values(), anki_id))
    return sum(len(reviews) for reviews in by_card.values())


def _revlog_row(review: PastReview, after: Schedule, anki_id: int, used_ids: set[int]
                ) -> tuple:
    """A razbor review as Anki logs an answer.

    id: the time in milliseconds (moved on by 1 ms if taken); ease: the rating, 1-4 in both;
    ivl and lastIvl: the interval the review set and the one it ended, days for a card in
    review, negative seconds in (re)learning; factor: FSRS difficulty as Anki writes it
    (difficulty scaled from 1-10 to 100-1100); time: the attempt's seconds in milliseconds;
    type: learning (a new or learning card), review or relearning, by the state before.
    """
    entry_id = int(review.reviewed_at.timestamp() * 1000)
    while entry_id in used_ids:
        entry_id += 1
    used_ids.add(entry_id)
    factor = round(((after.difficulty - 1) / 9 + 0.1) * 1000) if after.difficulty else 0
    before_kind = review.before.state if review.before else None
    return (entry_id, anki_id, -1, review.rating, _interval(after, review.reviewed_at),
            _interval(review.before, review.before.last_review) if review.before else 0,
            factor, min(int(review.seconds * 1000), 2**31 - 1), REVIEW_KINDS[before_kind])


def _interval(schedule: Schedule, since: datetime | None) -> int:
    seconds = (schedule.due - (since or schedule.due)).total_seconds()
    if schedule.state == "review":
        return max(1, round(seconds / DAY_SECONDS))
    return -max(1, int(seconds))


def _anki_card(last: Schedule, reviews: list[PastReview], created: int) -> dict:
    """The Anki card's scheduling columns for a card's last FSRS schedule.

    review: type and queue 2, due in days since the collection's creation (Anki moves it to
    the importing collection's days), ivl the days from the last review to due. learning and
    relearning: queue 1, due as a Unix time, one step left; a relearning card's ivl is its
    stability in days, the interval it returns to. factor is SM-2's default ease 2500;
    the FSRS memory state (stability s, difficulty d, last review lrt) goes in data, which Anki
    with FSRS on reads. reps counts the reviews, lapses the Again ratings of cards in review.
    """
    kind = ANKI_TYPES[last.state]
    since_review = last.last_review or reviews[-1].reviewed_at
    if kind == 2:
        due = (last.due.date() - datetime.fromtimestamp(created, UTC).date()).days
        interval = max(1, round((last.due - since_review).total_seconds() / DAY_SECONDS))
    else:
        due = int(last.due.timestamp())
        interval = max(1, round(last.stability or 1)) if kind == 3 else 0
    memory = {"s": last.stability, "d": last.difficulty,
              "lrt": int(since_review.timestamp())} if last.stability else {}
    lapses = sum(review.rating == 1 and review.before is not None
                 and review.before.state == "review" for review in reviews)
    return {"type": kind, "queue": 2 if kind == 2 else 1, "due": due, "ivl": interval,
            "factor": 2500, "reps": len(reviews), "lapses": lapses,
            "left": 0 if kind == 2 else 1, "data": json.dumps(memory)}


# In


@dataclass(frozen=True)
class AnkiReview:
    """One row of Anki's review log for the note's first card."""

    at_ms: int
    ease: int
    time_ms: int
    kind: int
    factor: int


@dataclass(frozen=True)
class AnkiNote:
    number: int
    guid: str
    fields: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    reviews: tuple[AnkiReview, ...]


@dataclass(frozen=True)
class ImportedCard:
    """A card made from a note, with what else the import needs from the note."""

    card: Card
    number: int
    reviews: tuple[PastReview, ...]
    media: tuple[str, ...]


class AnkiPackage:
    """An .apkg opened for reading: its notes and their review logs, and its media files.

    PackageError, naming the file, for anything that makes it unusable: not a zip, more than
    max_bytes unpacked or MAX_ENTRIES entries, no readable collection, a media name that is
    not a plain file name.
    """

    def __init__(self, path: Path, max_bytes: int = MAX_UNPACKED_BYTES):
        self.path = path
        self.max_bytes = max_bytes
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise self._error("is not an Anki package (not a zip archive)") from error
        try:
            self._check_size()
            collection = self._collection_name()
            self.compressed = collection == NEWER_COLLECTION
            self.media = self._media_names()
            self.notes = self._read_collection(self._read(collection))
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> AnkiPackage:
        return self

    def __exit__(self, *exc) -> None:
        self._zip.close()

    def _error(self, problem: str, fix: str = "export the deck from Anki as an .apkg with "
               "'Support older Anki versions' ticked") -> PackageError:
        return PackageError(f"{self.path}: {problem} (fix: {fix})")

    def _check_size(self) -> None:
        entries = self._zip.infolist()
        if len(entries) > MAX_ENTRIES:
            raise self._error(f"holds {len(entries)} files, more than {MAX_ENTRIES}")
        total = sum(entry.file_size for entry in entries)
        if total > self.max_bytes:
            raise self._error(f"unpacks to {total / 2**20:.0f} MiB, more than the "
                              f"{self.max_bytes / 2**20:.0f} MiB allowed",
                              "split the deck into smaller packages")

    def _collection_name(self) -> str:
        names = set(self._zip.namelist())
        if "collection.anki21" in names:
            return "collection.anki21"
        if NEWER_COLLECTION in names:
            if _zstandard() is None:
                raise self._error("holds only the newer compressed collection (collection."
                                  "anki21b), which razbor reads with the zstandard package",
                                  "pip install zstandard, or export the deck from Anki as an "
                                  ".apkg with 'Support older Anki versions' ticked")
            return NEWER_COLLECTION
        if "collection.anki2" in names:
            return "collection.anki2"
        raise self._error("holds no Anki collection (collection.anki2 or collection.anki21)")

    def _read(self, name: str) -> bytes:
        """An entry's bytes, decompressed if the package is of the newer format."""
        target = io.BytesIO()
        self._copy(name, name, target)
        return target.getvalue()

    def _copy(self, entry: str, name: str, target: BinaryIO) -> None:
        """Copy an entry out of the zip, decompressing a newer package's, within max_bytes."""
        written = 0
        try:
            with self._zip.open(entry) as packed:
                source = _zstandard().ZstdDecompressor().stream_reader(packed) \
                    if self.compressed else packed
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > self.max_bytes:
                        raise self._error(f"{name!r} unpacks past the size limit of "
                                          f"{self.max_bytes / 2**20:.0f} MiB",
                                          "split the deck into smaller packages")
                    target.write(chunk)
        except PackageError:
            raise
        except Exception as error:  # zip, zlib and zstd each fail in their own way
            raise self._error(f"its entry {name!r} cannot be unpacked ({error})") from error

    def _media_names(self) -> dict[str, str]:
        """The media list: file name -> zip entry, every name a plain file name."""
        if "media" not in self._zip.namelist():
            return {}
        listed = self._compressed_media_list() if self.compressed else self._json_media_list()
        for name in listed.values():
            if not name or name in (".", "..") or UNSAFE_NAME.search(name):
                raise self._error(f"names a media file {name!r}, which is not a plain file name",
                                  "export the deck from Anki again; do not edit the package")
        return {name: entry for entry, name in listed.items()}

    def _json_media_list(self) -> dict[str, str]:
        """The older packages' list: JSON mapping each zip entry to its file name."""
        try:
            listed = json.loads(self._read("media").decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise self._error("its media list is not JSON") from error
        if not isinstance(listed, dict) or not all(isinstance(name, str)
                                                   for name in listed.values()):
            raise self._error("its media list is not a map of entries to file names")
        return listed

    def _compressed_media_list(self) -> dict[str, str]:
        """The newer packages' list: protobuf entries whose position is the zip entry."""
        try:
            entries = _protobuf_fields(self._read("media"), MEDIA_ENTRIES_FIELD)
            return {str(number): _protobuf_fields(entry, MEDIA_NAME_FIELD)[0].decode("utf-8")
                    for number, entry in enumerate(entries)}
        except (ValueError, IndexError, UnicodeDecodeError) as error:
            raise self._error(f"its media list cannot be read ({error})") from error

    def copy_media(self, name: str, target: BinaryIO) -> None:
        """Copy a media file out of the package, within the size limit."""
        self._copy(self.media[name], f"media file {name}", target)

    def _read_collection(self, data: bytes) -> list[AnkiNote]:
        if not data.startswith(SQLITE_HEADER):
            raise self._error("its collection is not an SQLite database")
        connection = sqlite3.connect(":memory:")
        steps = itertools.count()
        connection.set_progress_handler(lambda: next(steps) * 10_000 > MAX_SQLITE_STEPS, 10_000)
        try:
            connection.deserialize(_without_wal(data))
            return _notes(connection)
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError) as error:
            reason = "takes too much work to read" if "interrupt" in str(error) else \
                f"cannot be read ({error})"
            raise self._error(f"its collection {reason}") from error
        finally:
            connection.close()


def _without_wal(database: bytes) -> bytes:
    """The database marked as using a rollback journal: a database in memory has no WAL file,
    and SQLite will not open one whose header says WAL (Anki's newer packages do)."""
    if database[18:20] == WAL_MODE:
        return database[:18] + ROLLBACK_JOURNAL_MODE + database[20:]
    return database


def _protobuf_fields(message: bytes, wanted: int) -> list[bytes]:
    """The values of one length-delimited field of a protobuf message, in order.

    Enough of the wire format for Anki's media list: varints, fixed 32 and 64 bit values and
    length-delimited ones are stepped over; anything else is an error.
    """
    values, position = [], 0
    while position < len(message):
        key, position = _varint(message, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, position = _varint(message, position)
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, position = _varint(message, position)
            if position + length > len(message):
                raise ValueError("a field runs past the end of the message")
            if number == wanted:
                values.append(message[position:position + length])
            position += length
        else:
            raise ValueError(f"unknown protobuf wire type {wire_type}")
    return values


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while shift < 64:
        if position >= len(data):
            raise ValueError("a number runs past the end of the message")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    raise ValueError("a number longer than 64 bits")


def _notes(db: sqlite3.Connection) -> list[AnkiNote]:
    tables = {name for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"col", "notes", "cards", "revlog"} - tables
    if missing:
        raise ValueError(f"no table {', '.join(sorted(missing))}: not an Anki collection")
    field_names = _field_names(db, tables)
    first_cards: dict[int, int] = {}
    for card_id, note_id in db.execute("SELECT id, nid FROM cards ORDER BY nid, ord, id"):
        first_cards.setdefault(note_id, card_id)
    reviews: dict[int, list[AnkiReview]] = defaultdict(list)
    for card_id, *row in db.execute("SELECT cid, id, ease, time, type, factor FROM revlog "
                                    "ORDER BY id"):
        reviews[card_id].append(AnkiReview(*(int(value or 0) for value in row)))
    notes = []
    for number, (note_id, guid, model_id, tags, fields) in enumerate(db.execute(
            "SELECT id, guid, mid, tags, flds FROM notes ORDER BY id"), start=1):
        values = str(fields or "").split("\x1f")
        names = field_names.get(int(model_id), [])
        names = names + [f"Field {n}" for n in range(len(names) + 1, len(values) + 1)]
        notes.append(AnkiNote(number, str(guid or note_id), tuple(zip(names, values,
                                                                          strict=False)),
                              tuple(str(tags or "").split()),
                              tuple(reviews.get(first_cards.get(note_id, -1), ()))))
    return notes


def _field_names(db: sqlite3.Connection, tables: set[str]) -> dict[int, list[str]]:
    """Field names by note type: from col.models (the legacy schema), else the fields table."""
    models = json.loads(db.execute("SELECT models FROM col").fetchone()[0] or "{}")
    if models:
        return {int(model_id): [item["name"] for item in sorted(model["flds"],
                                                                key=lambda f: f["ord"])]
                for model_id, model in models.items()}
    names: dict[int, list[str]] = defaultdict(list)
    if "fields" in tables:
        for model_id, name in db.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
            names[int(model_id)].append(str(name))
    return names


def import_cards(package: AnkiPackage, topic: str) -> tuple[list[ImportedCard], list[str]]:
    """A card for each usable note, and why each other note was left out."""
    imported, skipped = [], []
    for note in package.notes:
        fields = dict(note.fields)
        card = _razbor_card(note, fields, package) if "Card file" in fields else None
        if card is None:
            made = _plain_note(note, fields, package)
            if isinstance(made, str):
                skipped.append(f"note {note.number}: {made}")
                continue
            card = card_of(made, topic)
        card = replace(card, topics=tuple(dict.fromkeys((topic, *note.tags))))
        reviews = tuple(_past_reviews(note, card.id))
        imported.append(ImportedCard(card, note.number, reviews, _media_of(card, package)))
    ids = {item.card.id for item in imported}
    return [replace(item, card=replace(item.card, related=tuple(
        other for other in item.card.related if other in ids))) for item in imported], skipped


def _media_path(package: AnkiPackage) -> Callable[[str], str]:
    return lambda name: media_reference(name) if name in package.media else name


def _plain_note(note: AnkiNote, fields: dict[str, str], package: AnkiPackage
                ) -> ImportedNote | str:
    """A note of any type: front and back by field name (else the first two), the rest as
    analysis; a cloze note asks its text with the gaps and answers it filled."""
    names = [name for name, _ in note.fields]
    front = _named(names, FRONT_FIELDS) or (names[0] if names else "")
    back = _named(names, BACK_FIELDS) or next((n for n in names if n != front), "")
    text = fields.get(front, "")
    if CLOZE.search(text):
        question_html = CLOZE.sub(lambda m: f"[{m.group(2) or '…'}]", text)
        answer_html, back = CLOZE.sub(lambda m: f"<b>{m.group(1)}</b>", text), ""
    else:
        question_html, answer_html = text, fields.get(back, "")
    to_markdown = _media_path(package)
    question = html_to_markdown(question_html, to_markdown)
    answer = html_to_markdown(answer_html, to_markdown)
    if not question:
        return "the front is empty"
    if not answer:
        return "the back is empty"
    extras = [(name, html_to_markdown(value, to_markdown)) for name, value in note.fields
              if name not in (front, back)]
    extras = [(name, text) for name, text in extras if text]
    analysis = extras[0][1] if len(extras) == 1 else "\n\n".join(
        f"**{name}**\n\n{text}" for name, text in extras)
    return ImportedNote(key=note.guid, question=question, answer=answer, analysis=analysis)


def _named(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((name for name in names if name.strip().casefold() in wanted), None)


def _razbor_card(note: AnkiNote, fields: dict[str, str], package: AnkiPackage) -> Card | None:
    """The card a razbor note carries, with the sections edited in Anki read from their
    fields; None if its card file does not parse (the note is then read like any other)."""
    card, problems = parse_card(Path(f"note-{note.number}.md"), html.unescape(fields["Card file"]))
    if card is None or problems:
        return None
    names_only, to_markdown = _NamesOnly(), _media_path(package)
    changes: dict[str, str] = {}
    for field_name, attribute in (("Question", "question"), *SECTION_FIELDS.items()):
        value = fields.get(field_name, "")
        markdown = _relink_images(getattr(card, attribute), value)
        if (_anki_html(markdown, card, names_only) if markdown else "") == value:
            changes[attribute] = markdown
        else:  # edited in Anki; a section emptied there keeps its text, as it must have one
            edited = demote_headings(html_to_markdown(value, to_markdown))
            changes[attribute] = edited if edited or attribute == "question" else markdown
    title = fields.get("Title", "")
    if title != html.escape(card.title):
        changes["title"] = title_of(html_to_markdown(title)) or card.title
    lab = card.lab if card.lab in lab_names() else ""
    return replace(card, lab=lab, source="", **changes)


def _relink_images(markdown: str, field_html: str) -> str:
    """Point the card's local images at the deck's media folder, by their order in the field
    (an export names each file anew, so the field holds the names the package has)."""
    names = [html.unescape(source) for source in HTML_IMAGE_SOURCE.findall(field_html)
             if not URL.match(source)]
    local = [match for match in MARKDOWN_IMAGE.finditer(markdown)
             if not URL.match(match.group(2) or match.group(3))]
    if len(names) != len(local):
        return markdown
    for match, name in zip(reversed(local), reversed(names), strict=True):
        markdown = (markdown[:match.start()] + f"![{match.group(1)}](<{media_reference(name)}>)"
                    + markdown[match.end():])
    return markdown


def _media_of(card: Card, package: AnkiPackage) -> tuple[str, ...]:
    """The package's media files the card refers to."""
    text = "\n".join((card.question, card.short_answer, card.analysis, card.mistakes,
                      card.interview))
    prefix = media_reference("")
    names = [(match.group(2) or match.group(3)).removeprefix(prefix)
             for match in MARKDOWN_IMAGE.finditer(text)
             if (match.group(2) or match.group(3)).startswith(prefix)]
    names += [match.group(1).strip() for match in SOUND.finditer(text)]
    return tuple(dict.fromkeys(name for name in names if name in package.media))


def _past_reviews(note: AnkiNote, card_id: str) -> Iterable[PastReview]:
    """The note's answers that rated the card: learning, review, relearning and filtered
    reviews with a button (1-4, the same scale as razbor's ratings); manual rescheduling and
    cramming that did not reschedule are left out."""
    for review in note.reviews:
        rescheduled = review.kind in (0, 1, 2) or (review.kind == 3 and review.factor != 0)
        if 1 <= review.ease <= 4 and rescheduled and 0 < review.at_ms < 253_402_300_799_000:
            yield PastReview(card_id, review.ease,
                             datetime.fromtimestamp(review.at_ms / 1000, UTC),
                             max(review.time_ms, 0) / 1000)
