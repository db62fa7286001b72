"""Labs prove the cards' numerical claims: every lab runs here, and a failing claim fails CI."""

import importlib.util
import os

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from razbor.cli import main
from razbor.decks import load_deck
from razbor.labs import LabUnavailable, get_lab, lab_names, run_lab
from razbor.rendering import render_markdown
from razbor.web.app import create_app

from .test_decks import VALID, write_deck
from .test_security import finished_lab


@pytest.mark.parametrize("name", sorted(lab_names()))
def test_every_claim_of_every_lab_holds(name):
    missing = [p for p in get_lab(name).needs if importlib.util.find_spec(p) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"lab {name} needs {missing} (pip install 'razbor[labs-torch]')")
    result = run_lab(name)
    failed = [f"{c.statement}: {c.detail}" for c in result.claims if not c.passed]
    assert result.claims and not failed


def test_a_lab_whose_extra_is_missing_says_how_to_enable_it(monkeypatch):
    import razbor.labs as labs

    original = labs.get_lab("roc-auc")
    monkeypatch.setitem(labs._REGISTRY, "needs-extra",
                        labs.Lab("needs-extra", "x", original.run, ("no_such_package_xyz",)))
    with pytest.raises(LabUnavailable, match="pip install 'razbor\\[labs-torch\\]'"):
        run_lab("needs-extra")


def test_labs_are_seeded_and_repeatable():
    assert run_lab("roc-auc", seed=3).claims == run_lab("roc-auc", seed=3).claims


def test_every_lab_a_card_names_exists_and_the_seed_cards_have_one():
    deck = load_deck()
    for card in deck:
        assert not card.lab or card.lab in lab_names(), card.id
    assert all(deck.get(i).lab for i in ("batchnorm", "mixed-precision", "roc-auc",
                                         "dental-lesions-3d"))


def test_lab_command_prints_pass_for_each_claim():
    result = CliRunner().invoke(main, ["lab", "batchnorm"])
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") == 6 and "FAIL" not in result.output
    unknown = CliRunner().invoke(main, ["lab", "no-such"])
    assert unknown.exit_code == 2 and "no card or lab named 'no-such'" in unknown.output


def test_the_card_page_offers_the_lab_and_shows_its_output(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer)) as client:
        attempt = client.post("/api/cards/roc-auc/attempts", json={"answered_aloud": True}).json()
        page = client.get(f"/attempts/{attempt['id']}").text
        assert 'href="/cards/roc-auc/lab"' in page and 'href="/cards/dental-lesions-3d"' in page
        lab = finished_lab(client, "/cards/roc-auc/lab")
        assert lab.status_code == 200 and lab.text.count('class="passed"') == 4


def test_formulas_become_mathml_on_the_server():
    html = render_markdown("Var: $\\sigma^2 = E[x^2] - \\mu^2$ and $$\\frac{a}{b}$$")
    assert "<math" in html and "<msup>" in html and "<mfrac>" in html and "$" not in html
    assert "costs $5 and $6" in render_markdown("costs $5 and $6")
    assert "<script" not in render_markdown("$x$ <script>alert(1)</script>")


def test_the_batchnorm_card_renders_its_formulas():
    html = render_markdown(load_deck().get("batchnorm").analysis)
    assert html.count("<math") >= 4 and "\\frac" not in html


def test_related_cards_and_labs_are_checked(tmp_path):
    card = VALID.replace("difficulty: 2", "difficulty: 2\nrelated: [nope]\nlab: no-lab")
    root = write_deck(tmp_path, {"t/dropout.md": card})
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 1
    assert "related card 'nope' is not another card" in result.output
    assert "lab 'no-lab' does not exist" in result.output
