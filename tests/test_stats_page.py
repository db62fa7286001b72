"""The stats page: SVG charts drawn on the server, parsed back as XML, and the page around them."""

import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from razbor.cards import Card, Deck
from razbor.practice import Trainer
from razbor.progress import AttemptEvent, PracticeLog, ReviewEvent, summarize
from razbor.scheduling import Planner, Rating, SchedulerSettings
from razbor.web.app import create_app
from razbor.web.charts import stats_charts
from razbor.web.i18n import translator

from .conftest import NOW, seed_deck
from .test_progress import practise

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & <b>'
TODAY = date(2026, 3, 2)


def svg(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def moment(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def hostile_deck() -> Deck:
    """The seed deck with one card whose title and topic are markup."""
    cards = list(seed_deck())
    cards[0] = Card(**{**cards[0].__dict__, "title": HOSTILE, "topics": (HOSTILE, "normalization")})
    return Deck(tuple(cards))


def sample_progress(deck: Deck | None = None):
    """Six weeks of reviews and graded attempts, made up without a database."""
    deck = deck or seed_deck()
    first = deck.cards[0]
    reviews, attempts = [], []
    for number in range(40):
        day = TODAY - timedelta(days=number)
        reviews.append(ReviewEvent(first.id, 1 if number % 4 == 0 else 3, moment(day), "review"))
        points = tuple((point.id, (number + index) % 3 != 0)
                       for index, point in enumerate(first.rubric.key_points))
        attempts.append(AttemptEvent(first.id, first.topic, moment(day), 30 + number, points))
    log = PracticeLog(reviews, attempts, [moment(TODAY + timedelta(days=n)) for n in (-3, 1, 1, 9)])
    return summarize(log, TODAY, 60, 0.9, deck)


def test_every_chart_is_an_accessible_svg_image_without_style_attributes():
    charts = stats_charts(sample_progress(), translator("en"))
    assert set(charts) == {"heatmap", "forecast", "retention", "time", "coverage-0"}
    for name, markup in charts.items():
        root = svg(markup)
        assert root.tag == f"{SVG}svg" and root.get("role") == "img", name
        title_id, desc_id = root.get("aria-labelledby").split()
        assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}title").text
        assert root.find(f"{SVG}desc").get("id") == desc_id
        assert all("style" not in element.attrib for element in root.iter()), name
        assert "<script" not in str(markup)


def test_the_heatmap_has_a_cell_per_day_darker_for_busier_days():
    progress = sample_progress()
    root = svg(stats_charts(progress, translator("en"))["heatmap"])
    days = root.findall(f"{SVG}rect[@class]")
    cells = [cell for cell in days if cell.get("class").startswith("day ")]
    assert len(cells) == 60
    tooltips = {cell.find(f"{SVG}title").text: cell.get("class") for cell in cells}
    assert tooltips[f"{TODAY}: 1"] == "day level-4"
    assert tooltips[f"{TODAY - timedelta(days=59)}: 0"] == "day level-0"
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert {"Mon", "Wed", "Fri", "less", "more", "Jan"} <= set(labels)


def test_the_forecast_has_thirty_bars_with_overdue_cards_today():
    root = svg(stats_charts(sample_progress(), translator("en"))["forecast"])
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 30
    assert [bar.find(f"{SVG}title").text for bar in bars[:2]] == [f"{TODAY}: 1",
                                                                   "2026-03-03: 2"]


def test_retention_is_a_line_against_a_dashed_target():
    root = svg(stats_charts(sample_progress(), translator("ru"))["retention"])
    target = root.find(f"{SVG}line[@class='target']")
    assert target.get("stroke-dasharray") and target.get("y1") == target.get("y2")
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 7  # the weeks from 2026-01-19 to 2026-03-02
    assert dots[-1].find(f"{SVG}title").text == "2026-03-02: 0% (0/1)"
    assert "цель 90%" in [text.text for text in root.iter(f"{SVG}text")]


def test_text_from_the_deck_is_escaped_inside_the_svg():
    progress = sample_progress(hostile_deck())
    markup = stats_charts(progress, translator("en"))["coverage-0"]
    assert "<script" not in markup and "&lt;script&gt;" in markup
    assert svg(markup).find(f"{SVG}title").text == f"Key-point coverage by topic: {HOSTILE}"


@pytest.fixture
def practised(sqlite_url, clock):
    """A trainer on the hostile deck with two weeks of history, and its web client."""
    from razbor.storage import Store

    store = Store.open(sqlite_url)
    trainer = Trainer(hostile_deck(), store, Planner(SchedulerSettings(fuzz=False)), clock=clock)
    user = trainer.user()
    for days_ago, rating in ((14, Rating.EASY), (7, Rating.GOOD), (1, Rating.AGAIN)):
        practise(trainer, user, "batchnorm", NOW - timedelta(days=days_ago), rating, 45,
                 covered=["bn.stats"], missed=["bn.affine"])
    with TestClient(create_app(trainer), follow_redirects=False) as client:
        yield client
    store.close()


def test_the_page_draws_each_chart_with_its_table_and_links_missed_points(practised):
    page = practised.get("/stats?lang=en")
    assert page.status_code == 200 and "style=" not in page.text
    charts = [svg(chunk) for chunk in re.findall(r"<svg .*?</svg>", page.text, re.S)]
    assert [root.get("class") for root in charts] == [
        "chart heatmap", "chart forecast", "chart retention", "chart time", "chart sparkline"]
    for heading in ("Reviews per day", "Reviews due in the next 30 days",
                    "Retention by week against the target", "Time per answer (weekly median)",
                    "Key-point coverage by topic", "Key points you miss most"):
        assert f"<h2>{heading}</h2>" in page.text
    assert page.text.count("<details>") == 5 and "<td>45 s</td>" in page.text
    assert "<tr><td>2026-02-16</td><td>1</td></tr>" in page.text  # a day of the calendar
    assert '<a href="/cards/batchnorm">&lt;script&gt;' in page.text and "<script>alert" not in page.text
    assert "3/3 (100%)" in page.text  # bn.affine missed in all three attempts


def test_the_page_speaks_russian_by_default_and_shows_no_data_for_a_new_user(client):
    page = client.get("/stats")
    assert page.status_code == 200
    assert "Повторений по дням" in page.text and "Прогноз повторений на 30 дней" in page.text
    # the measured retention, the calendar's table, and the retention, time, coverage and
    # missed-points sections
    assert page.text.count("пока нет данных") == 6
    assert 'class="chart heatmap"' in page.text


@pytest.fixture
def client(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), follow_redirects=False) as http:
        yield http
