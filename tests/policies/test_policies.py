"""Every policy on the hand-built cluster of ``conftest.three_nodes``: exact node and GPUs.

Expected scores were worked out by hand from the formulas in docs/method.md; they are
given in the comments (n0, n1, n2). The normalisers of bestfit and dotprod are the largest
node's capacity: 64 cores and 8 GPUs (n2).
"""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.policies.bestfit import rescale
from schedlab.policies.fgd import sigmoid_score
from tests.conftest import placer, shape, three_nodes, typical

SHARE300 = (1000, 1000, 1, 300, "")
SHARE600 = (1000, 1000, 1, 600, "")
WHOLE1 = (1000, 1000, 1, 1000, "")
WHOLE2 = (1000, 1000, 2, 1000, "")

CASES = [
    # bestfit raw 59, 65, 9 -> rescaled 89, 100, 0; GPUs of n1 both 1000 -> lowest index.
    ("bestfit", SHARE300, None, 1, (0,)),
    # bestfit raw 70, 75, 20 (whole GPUs): n1.
    ("bestfit", WHOLE2, None, 1, (0, 1)),
    # dotprod 98, 99, 97 (with 128 cores as the CPU normaliser it would be 99, 99, 98).
    ("dotprod", SHARE300, None, 1, (0,)),
    ("dotprod", SHARE300, [0, 2, 1], 1, (0,)),
    # dotprod 94, 96, 88.
    ("dotprod", WHOLE2, None, 1, (0, 1)),
    # packing 96 (partly used GPU, 400 free), 31 (all free, G=2), 49 (j=1).
    ("packing", SHARE300, None, 0, (1,)),
    # packing 48 (j=2), 31, 48: n0/n2 tie; whole GPUs are the lowest-indexed free ones.
    ("packing", WHOLE2, None, 0, (0, 2)),
    ("packing", WHOLE2, [2, 0, 1], 2, (1, 2)),
    # clustering share: 75+15, 25+18, 0+3.
    ("clustering", SHARE300, None, 0, (1,)),
    # clustering 2-gpu: 0+15 (other tag only), 25+18 (empty), 0+3.
    ("clustering", WHOLE2, None, 1, (0, 1)),
    # fgd (typical: one 500-milli sharing task). n0: GPU0 -> 50, GPU1 -> 57, GPU3 -> 40; n1, n2 50.
    ("fgd", SHARE300, None, 0, (1,)),
    # fgd 600: n0 GPU0 -> 40, GPU3 -> 47 (best); n1 40, n2 40.
    ("fgd", SHARE600, None, 0, (3,)),
    # fgd whole GPU: 50 everywhere; order picks n2, lowest free GPU there is GPU 1.
    ("fgd", WHOLE1, [2, 1, 0], 2, (1,)),
    # A GPU-type constraint leaves only n2 (V100); sharing GPU by the policy's rule.
    ("bestfit", (1000, 1000, 1, 300, "V100"), None, 2, (1,)),
    ("fgd", (1000, 1000, 1, 300, "A100|V100"), None, 2, (1,)),
    ("random", (1000, 1000, 1, 300, "V100"), None, 2, None),
    # Memory: only n0 has 60000 MiB left. Best-fit GPU on n0 is GPU 1 (400 free).
    ("bestfit", (1000, 60000, 1, 300, ""), None, 0, (1,)),
    ("packing", (1000, 60000, 1, 300, ""), None, 0, (1,)),
    ("random", (1000, 60000, 1, 1000, ""), None, 0, (0,)),
]


@pytest.mark.parametrize(("policy", "request_", "order", "node", "gpus"), CASES)
def test_exact_choice(
    policy: str,
    request_: tuple[int, int, int, int, str],
    order: list[int] | None,
    node: int,
    gpus: tuple[int, ...] | None,
) -> None:
    cluster = three_nodes()
    chosen = placer(cluster, policy, order).select(shape(cluster, *request_))
    assert chosen is not None
    assert chosen.node == node
    if gpus is not None:
        assert chosen.gpus == gpus


@pytest.mark.parametrize("policy", ["random", "dotprod", "clustering", "packing", "bestfit", "fgd"])
def test_nothing_fits(policy: str) -> None:
    cluster = three_nodes()
    p = placer(cluster, policy)
    assert p.select(shape(cluster, 1000, 1000, 1, 300, "A100")) is None  # no such model
    assert p.select(shape(cluster, 1000, 1000, 8, 1000)) is None  # n2 has only 7 whole GPUs left
    assert p.place(shape(cluster, 70000, 1000, 0, 0)) is None  # no node has 70 cores
    assert cluster.version.tolist() == [2, 0, 1]  # nothing was placed


def test_fgd_sigmoid_truncates() -> None:
    # delta in milli-GPU numerators at scale 1: 300 -> sigmoid(0.3) = 0.5744 -> 57.
    assert sigmoid_score(np.array([0, 300, -400, -100, 5000]), 1).tolist() == [50, 57, 40, 47, 99]


def test_fgd_cpu_only_task_scores_cpu_starvation() -> None:
    # Typical: a sharing task needing 30 cores. A CPU-only task of 10 cores leaves n0 (30 cores
    # left) unable to host it: all 3100 free milli become fragment -> score < 50. n1 keeps 22
    # cores: also unable. n2 keeps 53 cores: unchanged, 50. So n2 wins despite the order.
    cluster = three_nodes()
    p = placer(cluster, "fgd", [0, 1, 2], typical([(30000, 500, 1, "", 1)]))
    chosen = p.select(shape(cluster, 10000, 1000, 0, 0))
    assert chosen is not None and chosen.node == 2 and chosen.gpus == ()


def test_bestfit_rescale_uses_integer_division() -> None:
    assert rescale(np.array([10, 12, 13])).tolist() == [0, 66, 100]
    assert rescale(np.array([7, 7])).tolist() == [0, 0]


def test_random_fit_is_uniform_over_feasible_nodes() -> None:
    cluster = three_nodes()
    p = placer(cluster, "random", seed=3)
    share = shape(cluster, 1000, 1000, 1, 300)
    counts = np.zeros(3)
    gpu_counts = np.zeros(4)
    for _ in range(3000):
        chosen = p.select(share)
        assert chosen is not None
        counts[chosen.node] += 1
        if chosen.node == 0:
            gpu_counts[chosen.gpus[0]] += 1
    assert (np.abs(counts / 3000 - 1 / 3) < 0.04).all()
    assert (np.abs(gpu_counts / gpu_counts.sum() - 0.25) < 0.05).all()  # all 4 GPUs of n0 fit 300
