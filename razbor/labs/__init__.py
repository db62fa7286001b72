"""Labs: short, seeded computations that check a card's numerical claims.

Each lab returns claims, each with what was measured and whether it holds. A claim that fails
means the card or the lab is wrong, so every lab also runs as a test. Lab modules import scipy
and friends inside the lab functions: loading a deck checks lab names without paying for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Claim:
    statement: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    run: Callable[[np.random.Generator], list[Claim]]
    needs: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class LabResult:
    lab: Lab
    claims: tuple[Claim, ...]

    @property
    def passed(self) -> bool:
        return all(claim.passed for claim in self.claims)


class LabUnavailable(RuntimeError):
    """The lab needs an optional package; the message says how to install it."""


_REGISTRY: dict[str, Lab] = {}


def lab(name: str, title: str, needs: tuple[str, ...] = ()):
    """Register a lab function under a name that cards refer to."""
    def register(function: Callable[[np.random.Generator], list[Claim]]):
        _REGISTRY[name] = Lab(name, title, function, needs)
        return function
    return register


def _load() -> dict[str, Lab]:
    from razbor.labs import (
        classical,
        distributed,
        estimation,
        experiments,
        llm,
        metrics,
        networks,
        normalization,
        precision,
        probability,
        statistics,
    )

    del (classical, distributed, estimation, experiments, llm, metrics, networks, normalization,
         precision, probability, statistics)
    return _REGISTRY


def lab_names() -> set[str]:
    return set(_load())


def get_lab(name: str) -> Lab:
    labs = _load()
    if name not in labs:
        raise KeyError(f"no lab named {name!r}")
    return labs[name]


def run_lab(name: str, seed: int = 0) -> LabResult:
    """Run a lab with a fixed seed; LabUnavailable if an optional package is missing."""
    found = get_lab(name)
    import importlib.util

    missing = [package for package in found.needs if importlib.util.find_spec(package) is None]
    if missing:
        raise LabUnavailable(f"lab {name!r} needs {', '.join(missing)}: "
                             "pip install 'razbor[labs-torch]'")
    return LabResult(found, tuple(found.run(np.random.default_rng(seed))))


def check(statement: str, passed: bool, detail: str) -> Claim:
    return Claim(statement, bool(passed), detail)
