"""Property-style tests of the champion/challenger rule: never promote a model worse on the primary metric by more
than the tolerance, always promote one that clears the required margin (hypothesis is not installed: a seeded loop)."""
import math
import random

import pytest

from financial_transactions.config import GateConfig
from financial_transactions.models.champion_challenger import PROMOTE, REJECT, decide

PRIMARY = "average_precision"


def _cases(n, seed):
    rng = random.Random(seed)
    for _ in range(n):
        m = rng.choice([0.0, 0.0, 1e-9, 0.001, 0.01, rng.random() * 0.2])
        t = rng.choice([0.0, 0.0, 1e-9, 0.005, rng.random() * 0.2])
        k = rng.choice([rng.random(), 0.0, 1.0, 0.5])
        c = rng.choice([rng.random(), k, k - t, k + m - t, k + m - t - 1e-12, k - t - 1e-12, k + m, math.nan])
        yield m, t, k, c


@pytest.mark.parametrize("seed", range(5))
def test_never_promotes_worse_than_tolerance(seed):
    promoted = rejected = 0
    for m, t, k, c in _cases(20_000, seed):
        d, why = decide({PRIMARY: c}, {PRIMARY: k}, GateConfig(min_improvement=m, tolerance=t), PRIMARY)
        if d == PROMOTE:
            promoted += 1
            assert c - k >= -t, (c, k, m, t, why)
        else:
            rejected += 1
        if not math.isnan(c) and c - k >= m - t:
            assert d == PROMOTE, (c, k, m, t, why)
        if math.isnan(c):
            assert d == REJECT
    assert promoted > 1000 and rejected > 1000


def test_floors_block_promotion_even_without_a_champion():
    rng = random.Random(7)
    floors = {"average_precision": 0.05, "roc_auc": 0.6}
    for _ in range(5_000):
        ch = {"average_precision": rng.random() * 0.2, "roc_auc": rng.random()}
        d, why = decide(ch, rng.choice([None, {PRIMARY: 0.0}]), GateConfig(floors=floors), PRIMARY)
        below = ch["average_precision"] < 0.05 or ch["roc_auc"] < 0.6
        assert (d == REJECT) == below, (ch, d, why)
        if below:
            assert why.startswith("below floor")
