"""The starving-class warning: it names the class, its waits, and what it is compared with."""

from __future__ import annotations

from schedlab.metrics.breakdown import starving


def row(p99: float, mean: float, most: float) -> dict[str, dict[str, float]]:
    return {"wait": {"p99": p99, "mean": mean, "max": most}}


def test_a_class_waiting_far_beyond_the_rest_is_named_with_what_it_is_compared_with() -> None:
    by_class = {"gpu": {"8+-gpu": row(7200, 900, 9000), "1-gpu": row(30, 2, 60)}}
    assert starving(by_class, 60.0) == [
        "gpu class '8+-gpu' waits 7,200 s at p99 (mean 900 s, max 9,000 s), over 10 x the overall"
        " p99 wait of 60 s: backfill may starve it"
    ]
    assert starving(by_class, 0.0) == [  # most tasks never wait: no "10 x 0 s"
        "gpu class '8+-gpu' waits 7,200 s at p99 (mean 900 s, max 9,000 s), while most tasks do not"
        " wait (overall p99 0.0 s): backfill may starve it",
        "gpu class '1-gpu' waits 30 s at p99 (mean 2 s, max 60 s), while most tasks do not wait"
        " (overall p99 0.0 s): backfill may starve it",
    ]
    assert starving(by_class, 1000.0) == []
