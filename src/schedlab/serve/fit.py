"""What each node offers a pod: filter codes (why a node does not take it) for the filter
verb, scores for the prioritize verb (and their answers, as bytes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import orjson

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.scheduler.placer import NONE
from schedlab.serve.objects import PodRequest
from schedlab.trace.tables import IntArray

if TYPE_CHECKING:
    from schedlab.serve.book import Book

#: Filter codes: why a node does not take a pod (PASS: it does). Below ROOM a node can
#: never take the pod; ROOM alone could be resolved by preemption.
PASS, UNKNOWN, NO_GPU, WRONG_MODEL, TOO_FEW, ROOM = -1, 0, 1, 2, 3, 4
MAX_SCORE = 10  # kube-scheduler's MaxExtenderPriority


def codes_of(c: ClusterState, shape: Shape, rows: IntArray) -> IntArray:
    """The filter code of ``shape`` on each node of ``rows`` (GPUs only: kube-scheduler's
    own plugins check CPU and memory)."""
    gpus = c.num_gpu[rows]
    has_gpu = gpus > 0
    model_ok = has_gpu & (shape.allowed[c.model[rows]] if shape.allowed is not None else True)
    enough = model_ok & (gpus >= shape.num_gpu)
    room = enough & ((c.gpu_free[rows] >= shape.gpu_milli).sum(axis=1) >= shape.num_gpu)
    codes = np.full(len(rows), PASS, dtype=np.int64)
    codes[~has_gpu] = NO_GPU
    codes[has_gpu & ~model_ok] = WRONG_MODEL
    codes[model_ok & ~enough] = TOO_FEW
    codes[enough & ~room] = ROOM
    return codes


def reasons(pod: PodRequest) -> list[str]:
    """The reason of each filter code, for this pod."""
    if pod.mig:
        what = pod.resource
        return [
            "schedlab: unknown node (give the service --kubeconfig to learn nodes)",
            f"schedlab: node has no {what}",
            f"schedlab: pod wants {what} of gpu-card-model {pod.gpu_spec}",
            f"schedlab: pod wants {pod.num_gpu} {what}, more than the node has",
            f"schedlab: no {pod.num_gpu} {what} free",
        ]
    return [
        "schedlab: unknown node (give the service --kubeconfig to learn nodes)",
        "schedlab: node has no GPU",
        f"schedlab: pod wants gpu-card-model {pod.gpu_spec}",
        f"schedlab: pod wants {pod.num_gpu} GPUs, more than the node has",
        f"schedlab: no {pod.num_gpu} GPU(s) with {pod.gpu_milli} gpu-milli free",
    ]


def scores(book: Book, pod: PodRequest, known: IntArray) -> IntArray:
    """Scores 0-10: the node the policy would pick gets 10 alone (its tie order decides
    equal scores), the others their policy score scaled to 0-9; 0 where it does not fit.
    A pod that asks for no GPU gets 0 everywhere (neutral). ``known``: node indices
    (-1: unknown); a pod asking for MIG instances is scored on its profile's rows."""
    with book.lock:
        book.remember(pod)
        if not pod.wants_gpu or not len(known):
            return np.zeros(len(known), dtype=np.int64)
        known = book.rows.at(pod, known)
        ok = known >= 0
        if ok.all():  # the usual case: no masks, no copies
            keys = book.placer.keys(book.shape(pod), known)
        else:
            keys = np.full(len(known), NONE, dtype=np.int64)
            if ok.any():
                keys[ok] = book.placer.keys(book.shape(pod), known[ok])
        live = keys != NONE
        scores = np.zeros(len(known), dtype=np.int64)
        if live.any():
            n = max(len(book.cluster), 1)
            every = bool(live.all())
            raw = (
                (keys - book.placer.tie[known]) // n
                if every
                else (keys[live] - book.placer.tie[known[live]]) // n
            )
            low, high = int(raw.min()), int(raw.max())
            scaled = (raw - low) * (MAX_SCORE - 1) // (high - low) if high > low else np.zeros_like(raw)
            if every:
                scores = scaled
            else:
                scores[live] = scaled
            scores[int(np.argmax(keys))] = MAX_SCORE  # NONE is below every live key
        return scores


class Scores:
    """Prioritize answers as bytes: each known node's ``{"Host":...,"Score":s}`` for every
    score 0-10 made once per node set, so an answer for thousands of nodes is one join."""

    def __init__(self) -> None:
        self.generation = -1
        self.table = np.empty((0, MAX_SCORE + 1), dtype=object)

    def answer(self, book: Book, names: list[str], at: IntArray, points: IntArray) -> bytes:
        with book.lock:
            if self.generation != book.generation:
                table = np.empty((len(book.names), MAX_SCORE + 1), dtype=object)
                for i, name in enumerate(book.names):
                    table[i] = [_entry(name, s) for s in range(MAX_SCORE + 1)]
                self.table, self.generation = table, book.generation
        known = at >= 0
        if known.all():  # the usual case: one fancy index, one join
            return b"[" + b",".join(self.table[at, points].tolist()) + b"]"
        parts = [
            self.table[i, score] if i >= 0 else _entry(name, score)
            for name, i, score in zip(names, at.tolist(), points.tolist(), strict=True)
        ]
        return b"[" + b",".join(parts) + b"]"


def _entry(name: str, score: int) -> bytes:
    return orjson.dumps({"Host": name, "Score": score})
