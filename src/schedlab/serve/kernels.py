"""Compiled handling of node-name lists in raw request bytes (the extender's hot path).

kube-scheduler sends every candidate node's name on each call (``NodeNames``, thousands of
them). Turning them into Python strings, hashing them and writing them back costs more than
the policy itself; these kernels find the ``NodeNames`` array in the raw body, look each name
up in a hash table of the known nodes (a word-at-a-time hash, names compared byte for byte)
and write the answer's name lists straight into an output buffer. Anything unusual (an
escape inside a name, a non-string element) makes them give up, and the plain path answers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from schedlab.arrays import BoolArray, IntArray
from schedlab.jit import kernel, step

Bytes = npt.NDArray[np.uint8]
MIX = np.uint64(0x9E3779B97F4A7C15)
QUOTE, BACKSLASH, COLON, COMMA = 34, 92, 58, 44
KEY = np.frombuffer(b"NodeNames", dtype=np.uint8)


@step
def fold(h: np.uint64, w: np.uint64) -> np.uint64:
    """Mix one eight-byte word ``w`` into hash ``h`` (multiply-xorshift)."""
    h = (h ^ w) * MIX
    return h ^ (h >> np.uint64(29))


@step
def finish(h: np.uint64, w: np.uint64, length: int) -> np.uint64:
    """The hash of a name: its last partial word ``w`` and its length mixed in."""
    h = (h ^ w ^ (np.uint64(length) << np.uint64(56))) * MIX
    return h ^ (h >> np.uint64(32))


@kernel
def name_hash(data: Bytes, start: int, end: int) -> np.uint64:
    """A 64-bit hash of ``data[start:end]``, little-endian eight-byte words folded in turn
    (:func:`read_names` computes the same while it scans)."""
    h, w, shift = np.uint64(0), np.uint64(0), np.uint64(0)
    for k in range(start, end):
        w |= np.uint64(data[k]) << shift
        shift += np.uint64(8)
        if shift == np.uint64(64):
            h, w, shift = fold(h, w), np.uint64(0), np.uint64(0)
    return finish(h, w, end - start)


@kernel
def find_names(body: Bytes, key: Bytes) -> int:
    """Where the top-level ``"NodeNames"`` value starts when it is an array (its ``[``);
    -1 when absent or not an array. Stops there: the array itself is read by
    :func:`read_names`."""
    depth, i, n = 0, 0, len(body)
    while i < n:
        c = body[i]
        if c == QUOTE:
            j = i + 1
            while j < n and body[j] != QUOTE:
                j += 2 if body[j] == BACKSLASH else 1
            if depth == 1 and j - i - 1 == len(key):
                same = True
                for k in range(len(key)):
                    if body[i + 1 + k] != key[k]:
                        same = False
                        break
                if same:
                    k = j + 1
                    while k < n and (body[k] == 32 or body[k] == 9 or body[k] == 10 or body[k] == 13):
                        k += 1
                    if k >= n or body[k] != COLON:
                        return -1
                    k += 1
                    while k < n and (body[k] == 32 or body[k] == 9 or body[k] == 10 or body[k] == 13):
                        k += 1
                    return k if k < n and body[k] == 91 else -1  # [
            i = j + 1
            continue
        if c == 123 or c == 91:  # { [
            depth += 1
        elif c == 125 or c == 93:  # } ]
            depth -= 1
        i += 1
    return -1


@kernel
def read_names(
    body: Bytes,
    start: int,
    starts: IntArray,
    ends: IntArray,
    blob: Bytes,
    offsets: IntArray,
    slots: IntArray,
    found: IntArray,
) -> tuple[int, int]:
    """One pass over the array at ``body[start]``: each string's offsets (contents, no
    quotes) and its node index (-1: unknown) from the open-addressing table ``slots``.
    Returns (count, the offset just past the array), or (-1, -1) if an element is not a
    plain string (escapes, control characters, numbers, nulls) or the array is cut short."""
    n, count, i = len(body), 0, start + 1
    mask = len(slots) - 1
    umask = np.uint64(mask)
    while i < n:
        c = body[i]
        if c == 93:  # ]
            return count, i + 1
        if c == QUOTE:
            j = i + 1
            h, w, shift = np.uint64(0), np.uint64(0), np.uint64(0)
            while j < n:  # find the closing quote, hashing as name_hash does on the way
                b = body[j]
                if b == QUOTE:
                    break
                if b == BACKSLASH or b < 32:
                    return -1, -1
                w |= np.uint64(b) << shift
                shift += np.uint64(8)
                if shift == np.uint64(64):
                    h, w, shift = fold(h, w), np.uint64(0), np.uint64(0)
                j += 1
            if j >= n or count >= len(starts):
                return -1, -1
            s, e = i + 1, j
            starts[count], ends[count] = s, e
            slot = np.int64(finish(h, w, e - s) & umask)
            found[count] = -1
            while slots[slot] >= 0:
                node = slots[slot]
                a, b2 = offsets[node], offsets[node + 1]
                if b2 - a == e - s:
                    same = True
                    for m in range(e - s):
                        if blob[a + m] != body[s + m]:
                            same = False
                            break
                    if same:
                        found[count] = node
                        break
                slot = (slot + 1) & mask
            count += 1
            i = j + 1
        elif c == 32 or c == 9 or c == 10 or c == 13 or c == COMMA:
            i += 1
        else:
            return -1, -1
    return -1, -1


@kernel
def copy(source: Bytes, start: int, end: int, out: Bytes, at: int) -> int:
    """``source[start:end]`` written at ``out[at]``; the new end."""
    for m in range(start, end):
        out[at] = source[m]
        at += 1
    return at


@kernel
def quoted(body: Bytes, start: int, end: int, out: Bytes, at: int, comma: bool) -> int:
    """``,"name"`` (the comma when ``comma``) written at ``out[at]``; the new end."""
    if comma:
        out[at] = COMMA
        at += 1
    out[at] = QUOTE
    at = copy(body, start, end, out, at + 1)
    out[at] = QUOTE
    return at + 1


@kernel
def emit_list(body: Bytes, starts: IntArray, ends: IntArray, keep: BoolArray, out: Bytes, at: int) -> int:
    """``"a","b",...`` for the kept names, written at ``out[at]``; the new end."""
    first = at
    for k in range(len(keep)):
        if keep[k]:
            at = quoted(body, starts[k], ends[k], out, at, at > first)
    return at


@kernel
def emit_map(
    body: Bytes,
    starts: IntArray,
    ends: IntArray,
    codes: IntArray,
    want_low: int,
    want_high: int,
    texts: Bytes,
    text_offsets: IntArray,
    out: Bytes,
    at: int,
) -> int:
    """``"name":"reason",...`` for names whose code is in ``[want_low, want_high]``."""
    first = at
    for k in range(len(codes)):
        code = codes[k]
        if want_low <= code <= want_high:
            at = quoted(body, starts[k], ends[k], out, at, at > first)
            out[at] = COLON
            at = copy(texts, text_offsets[code], text_offsets[code + 1], out, at + 1)
    return at


@kernel
def emit_scores(
    body: Bytes, starts: IntArray, ends: IntArray, scores: IntArray, head: Bytes, middle: Bytes, out: Bytes
) -> int:
    """``[{"Host":"name","Score":s},...]``; the length written."""
    at = 0
    out[at] = 91
    at += 1
    for k in range(len(scores)):
        if k:
            out[at] = COMMA
            at += 1
        for m in range(len(head)):
            out[at] = head[m]
            at += 1
        for m in range(starts[k], ends[k]):
            out[at] = body[m]
            at += 1
        for m in range(len(middle)):
            out[at] = middle[m]
            at += 1
        s = scores[k]
        if s >= 10:
            out[at] = 48 + s // 10
            at += 1
        out[at] = 48 + s % 10
        out[at + 1] = 125  # }
        at += 2
    out[at] = 93
    return at + 1


def hash_table(names: list[str]) -> tuple[IntArray, Bytes, IntArray]:
    """(offsets, blob, slots): the known names' bytes and an open-addressing table."""
    encoded = [n.encode() for n in names]
    offsets = np.zeros(len(names) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in encoded])
    blob = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8).copy()
    size = 1 << max(4, (2 * len(names)).bit_length())
    slots = np.full(size, -1, dtype=np.int64)
    for i, raw in enumerate(encoded):
        slot = int(name_hash(np.frombuffer(raw or b"\0", dtype=np.uint8), 0, len(raw)) & np.uint64(size - 1))
        while slots[slot] >= 0:
            slot = (slot + 1) & (size - 1)
        slots[slot] = i
    return offsets, blob, slots
