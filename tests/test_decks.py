"""Card files and decks: what parses, and the exact place and fix of every error."""

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from razbor.cards import DEFAULT_INSTRUCTION, Card, KeyPoint, Mistake, Rubric
from razbor.decks import DeckError, check_deck, dump_card, load_deck, parse_card
from razbor.decks import cache as deck_cache

from .conftest import SEED_IDS, SHARED

VALID = """\
---
id: dropout
title: Dropout при обучении и инференсе
lang: en
difficulty: 2
tags: [regularization]
rubric:
  key_points:
    - id: do.train
      text: Units are zeroed at random during training.
  mistakes:
    - id: do.m.infer
      text: Keeps dropping units at inference.
---

## Короткий ответ

Random units are zeroed in training; inverted scaling keeps expectations equal.

## Подробный разбор

With keep probability p, activations are divided by p during training.

## Типичные ошибки

- Leaving dropout on at inference.

## Как сказать на собеседовании

- Mention inverted dropout.
"""


def write_deck(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def problems_of(text: str) -> list[str]:
    _, problems = parse_card(Path("card.md"), text)
    return [f"{p.line}: {p.message}" for p in problems]


def test_a_valid_card_parses_with_all_sections_and_the_default_instruction():
    card, problems = parse_card(Path("dropout.md"), VALID, ("deep-learning",))
    assert problems == []
    assert card.id == "dropout"
    assert card.topics == ("deep-learning", "regularization")
    assert card.instruction == DEFAULT_INSTRUCTION
    assert card.short_answer.startswith("Random units")
    assert card.mistakes == "- Leaving dropout on at inference."
    assert card.rubric.ids() == ["do.train", "do.m.infer"]


def test_english_section_headings_are_accepted():
    text = (VALID.replace("## Короткий ответ", "## Short answer")
            .replace("## Подробный разбор", "## Detailed analysis"))
    card, problems = parse_card(Path("c.md"), text)
    assert problems == [] and card.analysis.startswith("With keep")


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("---\nid", "id", 1), "1: the file does not start with YAML front matter"),
    (lambda t: t.replace("---\n\n## Короткий", "\n## Короткий"), "1: the front matter is never closed"),
    (lambda t: t.replace("lang: en", "lang: en: x"), "4: the front matter is not valid YAML"),
    (lambda t: t.replace("lang: en", "lang: de"), "4: language 'de' is not supported"),
    (lambda t: t.replace("difficulty: 2", "difficulty: 9"), "5: difficulty 9 is not 1..5"),
    (lambda t: t.replace("difficulty: 2", "difficulty: hard"), "5: difficulty 'hard' is not 1..5"),
    (lambda t: t.replace("id: dropout", "id: Drop Out"), "2: card id 'Drop Out' is not a slug"),
    (lambda t: t.replace("title: Dropout", "titel: Dropout"), "3: unknown field 'titel'"),
    (lambda t: t.replace("lang: en\n", ""), "1: missing field 'lang'"),
    (lambda t: t.replace("tags: [regularization]", "tags: regularization"),
     "6: field 'tags' must be a list of words"),
    (lambda t: t.replace("      text: Units are zeroed at random during training.\n", ""),
     "7: rubric key_points item 1 must have 'id' and 'text'"),
    (lambda t: t.replace("id: do.train", "id: Do Train"), "7: rubric id 'Do Train' is not a valid id"),
    (lambda t: t.replace("during training.\n", "during training.\n      wordings: Zeroed.\n"),
     "7: rubric id 'do.train': 'wordings' must be a list of sentences"),
    (lambda t: t.replace("during training.\n", "during training.\n      wordings: ['', 'x']\n"),
     "7: rubric id 'do.train': 'wordings' must be a list of sentences"),
    (lambda t: t.replace("## Типичные ошибки\n\n- Leaving dropout on at inference.\n", ""),
     "missing section 'Типичные ошибки'"),
    (lambda t: t.replace("- Mention inverted dropout.\n", ""),
     "section 'Как сказать на собеседовании' is empty"),
    (lambda t: t.replace("## Подробный разбор", "## Разбор"), "unknown section 'Разбор'"),
    (lambda t: t + "\n## Короткий ответ\n\nagain\n", "section 'Короткий ответ' appears twice"),
    (lambda t: t.replace("---\n\n## Короткий", "---\nstray text\n## Короткий"),
     "text before the first section heading"),
])
def test_every_validation_error_names_its_line(edit, expected):
    found = problems_of(edit(VALID))
    assert any(expected in problem for problem in found), found


def test_section_problems_point_at_the_heading_or_the_end_of_the_file():
    text = VALID.replace("- Mention inverted dropout.\n", "")
    heading_line = text.splitlines().index("## Как сказать на собеседовании") + 1
    assert f"{heading_line}: section 'Как сказать на собеседовании' is empty" in problems_of(text)


def test_every_problem_says_how_to_fix_it():
    _, problems = parse_card(Path("c.md"), VALID.replace("lang: en", "lang: de"))
    assert "fix: use 'ru' or 'en'" in str(problems[0])
    assert str(problems[0]).startswith("c.md:4: error:")


def test_a_deck_with_one_bad_card_is_never_half_loaded(tmp_path):
    root = write_deck(tmp_path, {"a/dropout.md": VALID,
                                 "b/broken.md": VALID.replace("id: dropout", "id: other")
                                 .replace("lang: en", "lang: xx")})
    with pytest.raises(DeckError) as raised:
        load_deck(root)
    assert [p.path.name for p in raised.value.problems] == ["broken.md"]


def test_duplicate_card_and_rubric_ids_across_files_are_errors(tmp_path):
    root = write_deck(tmp_path, {"a/one.md": VALID, "b/two.md": VALID})
    _, problems = check_deck(root)
    messages = " ".join(p.message for p in problems)
    assert "card id 'dropout' is already used" in messages
    assert "rubric id 'do.train' is used more than once" in messages


NO_RUBRIC = VALID.split("rubric:")[0] + "---" + VALID.split("---", 2)[2]


def test_subfolders_are_topics_and_a_card_without_a_rubric_is_graded_by_its_answer(tmp_path):
    root = write_deck(tmp_path, {"metrics/dropout.md": NO_RUBRIC})
    cards, problems = check_deck(root)
    assert cards[0].topics == ("metrics", "regularization")
    assert problems == []
    assert cards[0].gradable_rubric.key_points
    assert len(load_deck(root)) == 1


def test_a_rubric_with_mistakes_only_or_an_answer_with_no_sentence_only_warns(tmp_path):
    mistakes_only = VALID.replace("""  key_points:
    - id: do.train
      text: Units are zeroed at random during training.
""", "")
    no_sentence = NO_RUBRIC.replace(
        "Random units are zeroed in training; inverted scaling keeps expectations equal.",
        "—")
    root = write_deck(tmp_path, {"a/dropout.md": mistakes_only,
                                 "b/terse.md": no_sentence.replace("id: dropout", "id: terse")})
    _, problems = check_deck(root)
    assert [(p.path.name, p.severity) for p in problems] == [("dropout.md", "warning"),
                                                             ("terse.md", "warning")]
    assert "mistakes but no key points" in problems[0].message
    assert "no sentence" in problems[1].message
    assert len(load_deck(root)) == 2


def test_a_missing_folder_and_an_empty_folder_are_errors(tmp_path):
    assert "does not exist" in check_deck(tmp_path / "nope")[1][0].message
    assert "has no card files" in check_deck(tmp_path)[1][0].message


def test_a_non_utf8_file_is_reported(tmp_path):
    (tmp_path / "bad.md").write_bytes(b"---\nid: \xff\n---\n")
    assert "not UTF-8" in check_deck(tmp_path)[1][0].message


def test_the_builtin_deck_holds_the_four_seed_cards_with_complete_rubrics():
    deck = load_deck()
    seeds = [deck.get(card_id) for card_id in SEED_IDS]
    assert None not in seeds
    for card in seeds:
        assert all((card.short_answer, card.analysis, card.mistakes, card.interview))
        assert card.lang == "en" and any("а" <= ch <= "я" for ch in card.title.lower())
        assert len(card.rubric.key_points) >= 5 and len(card.rubric.mistakes) >= 2


def test_the_builtin_rubric_ids_match_the_shared_rubric_file():
    rubric_file = SHARED / "rubrics/seed-rubrics.yaml"
    if not rubric_file.exists():
        pytest.skip("../shared is not present in this checkout")
    import yaml

    shared = {c["id"]: c for c in yaml.safe_load(rubric_file.read_text())["cards"]}
    deck = load_deck()
    for card in (deck.get(card_id) for card_id in SEED_IDS):
        expected = shared[card.id]
        assert [p.id for p in card.rubric.key_points] == [p["id"] for p in expected["key_points"]]
        assert [m.id for m in card.rubric.mistakes] == [m["id"] for m in expected["mistakes"]]
        assert card.title == expected["title_ru"]


words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                min_size=1, max_size=40).map(str.strip).filter(lambda s: s and not s.startswith("#"))


@settings(max_examples=60, deadline=None)
@given(title=words, body=words, point=words, lang=st.sampled_from(["ru", "en"]),
       difficulty=st.integers(1, 5), wordings=st.lists(words, max_size=3))
def test_dump_then_parse_gives_the_same_card(title, body, point, lang, difficulty, wordings):
    card = Card(id="some-card", title=title, lang=lang, topics=("general",),
                difficulty=difficulty, short_answer=body, analysis=body + " more",
                mistakes="- " + body, interview="- " + point,
                rubric=Rubric((KeyPoint("x.one", point, wordings=tuple(wordings)),),
                              (Mistake("x.m.one", point),)))
    parsed, problems = parse_card(Path("c.md"), dump_card(card))
    assert problems == []
    assert parsed.to_dict() == card.to_dict()


def test_a_card_may_word_the_interviewers_question_beyond_its_title(tmp_path):
    asked = VALID.replace("title: Dropout при обучении и инференсе",
                          "title: Dropout при обучении и инференсе\n"
                          "question: Why does dropout need rescaling, and when is it off?")
    card = load_deck(write_deck(tmp_path, {"t/dropout.md": asked})).get("dropout")
    assert card.question == "Why does dropout need rescaling, and when is it off?"
    again, _ = parse_card(Path(card.source), dump_card(card, ("t",)), ("t",))
    assert again == card and card.content_hash() != replace(card, question="").content_hash()


def test_a_rubric_item_may_list_other_wordings_of_its_claim(tmp_path):
    worded = VALID.replace(
        "      text: Units are zeroed at random during training.\n",
        "      text: Units are zeroed at random during training.\n"
        "      wordings:\n"
        "        - \"на обучении нейроны случайно зануляются\"\n"
        "        - \"train: random units set to zero\"\n")
    card = load_deck(write_deck(tmp_path, {"t/dropout.md": worded})).get("dropout")
    assert card.rubric.key_points[0].wordings == ("на обучении нейроны случайно зануляются",
                                                  "train: random units set to zero")
    plain = load_deck(write_deck(tmp_path / "plain", {"t/dropout.md": VALID})).get("dropout")
    assert "wordings" not in str(plain.to_dict())  # a card without wordings keeps its digest
    assert card.content_hash() != plain.content_hash()


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder of this test's own (the user's cache folder, as platformdirs finds it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_deck_loaded_again_is_read_back_from_the_cache_until_a_card_changes(tmp_path,
                                                                              own_cache):
    root = write_deck(tmp_path / "deck", {"a/dropout.md": VALID})
    first = load_deck(root)
    kept = list(deck_cache.cache_dir().glob("*.json"))
    assert len(kept) == 1
    assert load_deck(root) == first
    write_deck(root, {"a/dropout.md": VALID.replace("при обучении", "на обучении")})
    assert load_deck(root).get("dropout").title == "Dropout на обучении и инференсе"
    write_deck(root, {"a/dropout.md": VALID.replace("lang: en", "lang: xx")})
    with pytest.raises(DeckError):
        load_deck(root)
    assert list(deck_cache.cache_dir().glob("*.json")) == kept, "one entry per deck folder"


def test_a_damaged_or_foreign_cache_entry_is_parsed_over(tmp_path, own_cache):
    root = write_deck(tmp_path / "deck", {"a/dropout.md": VALID})
    expected = load_deck(root)
    [entry] = deck_cache.cache_dir().glob("*.json")
    for damage in ("{not json", '{"fingerprint": 3}', '[1, 2]', ""):
        entry.write_text(damage, encoding="utf-8")
        assert load_deck(root) == expected


def test_a_cache_folder_that_cannot_be_written_only_costs_the_parse(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    root = write_deck(tmp_path / "deck", {"a/dropout.md": VALID})
    assert load_deck(root).get("dropout").title == "Dropout при обучении и инференсе"
