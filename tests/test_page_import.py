"""Importing the original trainer's page format into card files."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.decks import DeckError, load_deck, parse_page
from razbor.decks.page import slugify

from .conftest import SHARED

CHROME = ("Сначала проговорите ответ вслух или тезисами.", "Формулы, план решения, риски и примеры.",
          "Откройте разбор только после своей попытки.", "Показать разбор")


def page_card(title: str, short: str = "Short text.") -> str:
    return "\n".join([
        title, title, *CHROME,
        "Короткий ответ", short,
        "Подробный разбор", "First paragraph of the analysis.", "Second paragraph.",
        "Типичные ошибки", "- Forgetting to scale.", "- Leaving it on at inference.",
        "Как сказать на собеседовании", "- Say why.",
    ])


PAGE = page_card("Dropout и его масштабирование") + "\n" + page_card("Градиентный клиппинг")


def test_a_page_yields_one_card_per_title_with_every_section():
    cards = parse_page(Path("page.txt"), PAGE)
    assert [card.title for card in cards] == ["Dropout и его масштабирование",
                                              "Градиентный клиппинг"]
    first = cards[0]
    assert first.id == "dropout-i-ego-masshtabirovanie"
    assert first.short_answer == "Short text."
    assert first.analysis == "First paragraph of the analysis.\n\nSecond paragraph."
    assert first.mistakes == "- Forgetting to scale.\n- Leaving it on at inference."
    assert first.lang == "en"
    assert first.instruction.startswith("Сначала проговорите")


def test_a_card_missing_a_section_is_reported_at_its_title_line():
    broken = PAGE.replace("Как сказать на собеседовании\n- Say why.\nГрадиентный",
                          "Градиентный")
    with pytest.raises(DeckError) as raised:
        parse_page(Path("page.txt"), broken)
    problem = raised.value.problems[0]
    assert problem.line == 1 and "no section 'Как сказать на собеседовании'" in problem.message


def test_text_without_cards_is_an_error():
    with pytest.raises(DeckError, match="no card found"):
        parse_page(Path("page.txt"), "just some text\nand more")


def test_slugs_transliterate_russian():
    assert slugify("Щука и ёж: BatchNorm") == "shchuka-i-ezh-batchnorm"


def test_import_page_writes_a_deck_that_loads(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "page", str(page), "--out", str(tmp_path / "deck"),
                                       "--topic", "training"])
    assert result.exit_code == 0, result.output
    deck = load_deck(tmp_path / "deck")
    assert len(deck) == 2 and deck.cards[0].topics == ("training",)
    again = CliRunner().invoke(main, ["import", "page", str(page), "--out", str(tmp_path / "deck")
                                      , "--topic", "training"])
    assert again.exit_code != 0 and "--force" in again.output


@pytest.mark.skipif(not (SHARED / "seeds").exists(), reason="../shared is not present")
def test_the_seed_page_imports_into_exactly_four_complete_cards_without_ui_chrome(tmp_path):
    seed = SHARED / "seeds/000_6c01c169660a1a9f.txt"
    rubrics = SHARED / "rubrics/seed-rubrics.yaml"
    result = CliRunner().invoke(main, ["import", "page", str(seed), "--out", str(tmp_path),
                                       "--topic", "seed", "--rubrics", str(rubrics)])
    assert result.exit_code == 0, result.output
    deck = load_deck(tmp_path)
    assert sorted(card.id for card in deck) == ["batchnorm", "dental-lesions-3d",
                                                "mixed-precision", "roc-auc"]
    for card in deck:
        sections = (card.short_answer, card.analysis, card.mistakes, card.interview)
        assert all(section.strip() for section in sections)
        for chrome in CHROME:
            assert all(chrome not in section for section in sections)
        assert card.title not in card.short_answer
        assert card.rubric.key_points
