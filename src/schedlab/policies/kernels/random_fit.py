"""The compiled kernels of random-fit (see ``schedlab.policies.random_fit``).

Random-fit's score is 0 everywhere; its normalise step draws. The draws come from numpy's
default bit generator, PCG64, stepped here on a copy of the Python generator's state
(``[state high, state low, increment high, increment low]``) and written back after the
run, so the compiled path draws exactly the numbers the reference draws: an integer in
[0, 2**40) is the top 40 bits of one 64-bit output (numpy's Lemire bound for a power of
two never rejects), a uniform in [0, 1) is its top 53 bits over 2**53.
"""

from __future__ import annotations

import numpy as np

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.base import CompiledPolicy
from schedlab.policies.kernels import PolicyParams, inline

MULT_HI = np.uint64(0x2360ED051FC65DA4)
MULT_LO = np.uint64(0x4385DF649FCCF645)
LOW32 = np.uint64(0xFFFFFFFF)
U32, U24, U11, U58, U64, U63 = (np.uint64(v) for v in (32, 24, 11, 58, 64, 63))
ONE, ZERO = np.uint64(1), np.uint64(0)


@inline
def constant(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    """Random-fit's score: 0 everywhere (its normalise step draws the winner)."""
    return 0, -1


@inline
def _mulhi(a: np.uint64, b: np.uint64) -> np.uint64:
    """The high 64 bits of the 128-bit product ``a * b``."""
    a_lo, a_hi, b_lo, b_hi = a & LOW32, a >> U32, b & LOW32, b >> U32
    p0, p1, p2, p3 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (p0 >> U32) + (p1 & LOW32) + (p2 & LOW32)
    return p3 + (p1 >> U32) + (p2 >> U32) + (mid >> U32)


@inline
def next64(state: IntArray) -> np.uint64:
    """PCG64 (XSL-RR 128/64): step the 128-bit LCG in ``state`` (uint64 x 4) and output."""
    hi, lo = state[0], state[1]
    new_lo = lo * MULT_LO
    new_hi = _mulhi(lo, MULT_LO) + lo * MULT_HI + hi * MULT_LO
    low = new_lo + state[3]
    carry = ONE if low < new_lo else ZERO
    high = new_hi + state[2] + carry
    state[0], state[1] = high, low
    x = high ^ low
    rot = high >> U58
    return (x >> rot) | (x << ((U64 - rot) & U63))


@inline
def draw_int40(state: IntArray) -> int:
    """numpy's ``integers(0, 2**40, dtype=int64)``."""
    return np.int64(next64(state) >> U24)


@inline
def draw_uniform(state: IntArray) -> float:
    """numpy's ``random()``."""
    return np.float64(next64(state) >> U11) * (1.0 / 9007199254740992.0)


def pcg64_state(rng: np.random.Generator) -> IntArray | None:
    """The generator's PCG64 state as kernel input, or None for another bit generator."""
    doc = rng.bit_generator.state
    if doc.get("bit_generator") != "PCG64":
        return None
    state, inc = int(doc["state"]["state"]), int(doc["state"]["inc"])
    mask = (1 << 64) - 1
    return np.array([state >> 64, state & mask, inc >> 64, inc & mask], dtype=np.uint64)


def pcg64_words(form: CompiledPolicy) -> IntArray:
    """The PCG64 state a compiled policy draws from (zeros when it draws nothing)."""
    if form.rng is None:
        return np.zeros(4, dtype=np.uint64)
    words = pcg64_state(form.rng)
    assert words is not None, "a drawing policy's compiled form needs a PCG64 generator"
    return words


def set_pcg64_state(rng: np.random.Generator, words: IntArray) -> None:
    """Write a kernel's PCG64 state back into the generator."""
    doc = rng.bit_generator.state
    doc["state"]["state"] = (int(words[0]) << 64) | int(words[1])
    rng.bit_generator.state = doc
