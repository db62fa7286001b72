"""Labs prove the cards' numerical claims: every lab runs here, and a failing claim fails CI."""

import importlib.util
import os

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from razbor.cli import main
from razbor.decks import load_deck
from razbor.labs import LabUnavailable, get_lab, lab_names, run_lab
from razbor.labs.classical import lesion_claims, lesion_scene
from razbor.labs.networks import (
    memory_growth_claim,
    multiply_add_claim,
    parameter_count_claim,
    softmax_attention,
)
from razbor.rendering import render_markdown
from razbor.web.app import create_app

from .test_decks import VALID, write_deck
from .test_security import finished_lab

SEEDS = range(20)
# Each syncbn-gloo run spawns two processes that import torch, about 3 s a seed; its gaps are many
# standard errors wide (it passes seeds 0..99), so five seeds show it holds beyond seed 0.
FEWER_SEEDS = {"syncbn-gloo": range(5)}


@pytest.mark.parametrize("name", sorted(lab_names()))
def test_every_claim_of_every_lab_holds_on_every_seed(name):
    missing = [p for p in get_lab(name).needs if importlib.util.find_spec(p) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"lab {name} needs {missing} (pip install 'razbor[labs-torch]')")
    results = {seed: run_lab(name, seed) for seed in FEWER_SEEDS.get(name, SEEDS)}
    failed = [f"seed {seed}: {claim.statement}: {claim.detail}"
              for seed, result in results.items() for claim in result.claims if not claim.passed]
    assert all(result.claims for result in results.values()) and not failed


def test_attention_cost_fails_for_a_wrong_formula_or_an_attention_without_the_n_by_n_matrix():
    rng = np.random.default_rng(0)
    assert multiply_add_claim(lambda n, d: 2 * n ** 2 * d, rng).passed
    assert not multiply_add_claim(lambda n, d: n ** 2 * d, rng).passed  # forgets the product with V

    def attention_in_row_blocks(q, k, v):
        """Exact attention, 128 queries at a time, as FlashAttention avoids the full matrix."""
        return np.concatenate([softmax_attention(q[start:start + 128], k, v)
                               for start in range(0, len(q), 128)])

    q, k, v = rng.normal(size=(3, 300, 8))
    assert np.allclose(attention_in_row_blocks(q, k, v), softmax_attention(q, k, v))
    assert memory_growth_claim(softmax_attention, rng).passed
    blocked = memory_growth_claim(attention_in_row_blocks, rng)
    assert not blocked.passed and "x2.0" in blocked.detail


def test_lora_params_fails_for_a_wrong_parameter_formula():
    rng = np.random.default_rng(0)
    assert parameter_count_claim(lambda d, k, r: r * (d + k), rng).passed
    assert not parameter_count_claim(lambda d, k, r: 2 * r * d, rng).passed  # right for square only
    assert not parameter_count_claim(lambda d, k, r: d * k, rng).passed


def test_lesion_instances_fails_when_the_small_lesions_are_big_enough_to_be_found():
    rng = np.random.default_rng(0)
    assert all(claim.passed for claim in lesion_claims(lesion_scene(rng, small_radius=2)))
    components, dice, instances = lesion_claims(lesion_scene(rng, small_radius=3))
    assert components.passed and dice.passed
    assert not instances.passed and "recall 3/3" in instances.detail


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
