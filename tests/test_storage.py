"""The store on real databases: schema, export and import, and refusals that change nothing."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from click.testing import CliRunner

from razbor.cli import main
from razbor.scheduling import Rating
from razbor.storage import AlreadyImported, StorageError, Store, export_records, import_records
from razbor.storage.store import MIGRATIONS
from razbor.storage.tables import metadata


def test_migrations_create_exactly_the_declared_schema(store):
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, metadata) == []


def test_opening_twice_migrates_once(database_url):
    Store.open(database_url).close()
    again = Store.open(database_url)
    with again.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0010"
    again.close()


def journal_modes_of_stores_opened_together(url: str, count: int) -> list[str]:
    """Open `count` stores on `url` at the same moment; what journal mode each one sees."""
    start = threading.Barrier(count)

    def open_and_close(_) -> str:
        start.wait()
        store = Store.open(url)
        with store.engine.connect() as connection:
            mode = connection.execute(sa.text("PRAGMA journal_mode")).scalar()
        store.close()
        return mode

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(open_and_close, range(count)))


def test_stores_opened_together_on_new_sqlite_files_wait_for_each_other(tmp_path):
    """Servers started at once on a new file all race to switch it to WAL mode.

    SQLite fails all but one of them at once instead of letting them wait (waiting could
    deadlock). Before the switch was retried, a few starts in a hundred failed this way.
    """
    for attempt in range(20):
        url = f"sqlite:///{tmp_path}/razbor-{attempt}.sqlite3"
        assert journal_modes_of_stores_opened_together(url, 8) == ["wal"] * 8


@pytest.mark.parametrize("url", [
    "nonsense", "sqlite:////proc/definitely/not/here.db",
    "postgresql://nobody@127.0.0.1:1/none",
])
def test_a_database_that_cannot_be_opened_is_a_clear_error(url):
    with pytest.raises(StorageError, match=r"database|URL"):
        Store.open(url)


def fill(trainer, clock):
    user = trainer.user()
    for card_id, rating in [("batchnorm", 3), ("roc-auc", 2), ("batchnorm", 4)]:
        attempt = trainer.submit_attempt(user, card_id, f"attempt on {card_id} 🙂 «ё»", False, 12.5)
        trainer.rate(user, attempt.id, Rating(rating))
        clock.now += timedelta(days=2)
    trainer.submit_attempt(user, "mixed-precision", "", True, 60)
    return user


def test_export_then_import_into_an_empty_database_loses_nothing(trainer, clock, tmp_path):
    user = fill(trainer, clock)
    exported = list(export_records(trainer.store))
    target = Store.open(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    counts = import_records(target, json.loads(json.dumps(exported)))
    assert counts["attempt"] == 4 and counts["review"] == 3
    assert list(export_records(target)) == exported
    for card_id in ("batchnorm", "roc-auc"):
        assert target.schedule(user, card_id) == trainer.store.schedule(user, card_id)
    more = target.add_attempt(user, "roc-auc", 1, "after import", False, 1, clock.now)
    assert more.id == 5
    target.close()


def test_import_refuses_a_database_with_history_and_changes_nothing(trainer, clock):
    fill(trainer, clock)
    exported = list(export_records(trainer.store))
    with pytest.raises(AlreadyImported):
        import_records(trainer.store, exported)
    assert list(export_records(trainer.store)) == exported


def test_a_bad_record_aborts_the_whole_import(database_url, trainer, clock, tmp_path):
    fill(trainer, clock)
    records = list(export_records(trainer.store))
    records.insert(len(records) // 2, {"type": "attempt", "bogus": 1})
    target = Store.open(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    with pytest.raises(StorageError, match="unknown fields"):
        import_records(target, records)
    assert list(export_records(target)) == []
    target.close()


def test_export_and_import_history_from_the_command_line(trainer, clock, tmp_path, monkeypatch):
    fill(trainer, clock)
    monkeypatch.setenv("RAZBOR_DB", str(trainer.store.engine.url.render_as_string(
        hide_password=False)))
    runner = CliRunner()
    exported = runner.invoke(main, ["export"])
    assert exported.exit_code == 0, exported.output
    dump = tmp_path / "history.jsonl"
    dump.write_text(exported.output, encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    imported = runner.invoke(main, ["import", "history", str(dump), "--db", target])
    assert imported.exit_code == 0, imported.output
    assert "4 attempts" in imported.output and "3 reviews" in imported.output
    assert runner.invoke(main, ["export", "--db", target]).output == exported.output
    twice = runner.invoke(main, ["import", "history", str(dump), "--db", target])
    assert twice.exit_code == 1 and "already holds history" in twice.output


def test_a_stalled_recording_is_queued_again_for_exactly_one_of_the_processes_asking(
        trainer, database_url):
    """Several processes look for recordings whose process died, all at once: each stalled
    recording goes back to the queue once, to one of them; a recording still beating stays."""
    now = trainer.clock()
    user = trainer.store.ensure_user("anna", now)

    def running(beaten_seconds_ago: float) -> int:
        recording = trainer.store.add_recording(user, "batchnorm", "a.wav", "audio/wav", 1, 1.0,
                                                now)
        trainer.store.claim_recording(recording.id, "queued",
                                      now=now - timedelta(seconds=beaten_seconds_ago))
        return recording.id

    stalled = [running(120) for _ in range(12)]
    alive = running(1)
    processes = [Store.open(database_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(processes)) as pool:
            taken = list(pool.map(
                lambda store: store.requeue_stalled_recordings(now - timedelta(seconds=30)),
                processes))
    finally:
        for store in processes:
            store.close()
    assert sorted(recording for found in taken for recording in found) == stalled
    assert trainer.store.recordings_with_status("queued") == stalled
    assert trainer.store.recordings_with_status("running") == [alive]
    trainer.store.beat_recordings([alive], now + timedelta(seconds=60))
    assert trainer.store.requeue_stalled_recordings(now + timedelta(seconds=30)) == []


def test_migrations_go_down_past_accounts_and_recordings_and_up_again_keeping_attempts(trainer):
    """A downgrade that drops a column must not rebuild a table others refer to: on SQLite
    that broke the attempts' foreign keys once any attempt came from a recording."""
    user = trainer.user()
    recording = trainer.store.add_recording(user, "batchnorm", "a.wav", "audio/wav", 1, 1.0,
                                            trainer.clock())
    transcript = {"text": "BatchNorm uses running statistics at inference.", "language": "en",
                  "duration": 1.0, "words": []}
    trainer.store.update_recording(recording.id, status="done", transcript=transcript)
    attempt = trainer.submit_attempt(user, "batchnorm", transcript["text"], True, 30.0,
                                     recording_id=recording.id)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for target in ("0003", "head"):
        with trainer.store.engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if target != "head" else command.upgrade)(config, target)
    assert trainer.store.attempt(attempt.id).recording_id == recording.id
    assert trainer.store.recording(recording.id).transcript == transcript
