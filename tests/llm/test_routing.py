"""A least-loaded router over replicas that run in windows (a cluster replay's replica runs):
each request goes to the running replica with the fewest requests outstanding, none when
none runs; a replica's window ending drops what it holds; with every replica always up it is
``serve``'s own routing."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.llm.cards import gpu_card, model_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import route_least_loaded, serve
from tests.llm.test_batching import fixed, requests


def test_requests_go_to_the_running_replica_with_the_fewest_outstanding() -> None:
    # Iterations of 1 s: a request of 50 output tokens stays outstanding for 51 s. Replica 0
    # runs 0-10 s, replica 1 from 5 s to 20 s.
    arrivals = (0.0, 1.0, 6.0, 6.5, 7.0, 12.0, 25.0, 26.0)
    rows = [(t, 8, 50) for t in arrivals[:-1]] + [(26.0, 8000, 300)]  # the last: over the context
    chosen = route_least_loaded(requests(*rows), [fixed(), fixed()], [(0.0, 10.0), (5.0, 20.0)])
    # 0 and 1: only replica 0 runs; 6: 2 outstanding there, none on 1; 6.5: 2 against 1;
    # 7: 2 and 2, the lower index; 12: replica 0 stopped at 10 (its three were dropped);
    # 25: none runs; 26: longer than the context, not routed by load
    assert chosen.tolist() == [0, 0, 1, 1, 0, 1, -1, -2]


def test_a_replica_whose_window_ended_takes_nothing_more_even_when_idle() -> None:
    chosen = route_least_loaded(
        requests((0.0, 8, 1), (3.0, 8, 1)), [fixed(), fixed()], [(0.0, 2.0), (0.0, 9.0)]
    )
    assert chosen.tolist() == [0, 1]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), replicas=st.integers(1, 4), gap=st.sampled_from([0.02, 0.2, 1.0]))
def test_with_every_replica_always_up_it_is_serves_routing(seed: int, replicas: int, gap: float) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    times = np.cumsum(rng.exponential(gap, n))
    trace = LlmRequests(times, rng.integers(1, 3000, n), rng.integers(1, 300, n), "r")
    deployment = Deployment(model_card("llama-2-7b"), gpu_card("A100-40GB"), 1)
    chosen = route_least_loaded(trace, [deployment] * replicas, [(-math.inf, math.inf)] * replicas)
    served = serve(trace, deployment, replicas)
    kept = chosen != -2
    assert (chosen[~kept] == -2).all() and np.isin(np.flatnonzero(~kept), served.rejected).all()
    assert chosen[kept].tolist() == served.replica[kept].tolist()
