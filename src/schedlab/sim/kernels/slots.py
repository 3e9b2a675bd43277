"""A few slots of per-shape state, the least recently used one reused for a new shape (the
gang room counts and the guard's earliest starts keep theirs so)."""

from __future__ import annotations

from schedlab.arrays import IntArray
from schedlab.jit import step


@step
def take(shape: IntArray, used: IntArray, seen: IntArray, clock: int, s: int) -> int:
    """The slot holding shape ``s``, or the least recently used one given to it (its
    ``seen`` set to -1: nothing known yet); marked used at ``clock``."""
    k = -1
    for j in range(len(shape)):
        if shape[j] == s:
            k = j
    if k < 0:
        k = 0
        for j in range(1, len(shape)):
            if used[j] < used[k]:
                k = j
        shape[k], seen[k] = s, -1
    used[k] = clock
    return k
