"""The extender's ``preempt`` verb: where to preempt for a pod, chosen as the replay chooses.

kube-scheduler (v1.25) asks with the pod and, per candidate node, the victims its own
plugins need gone for CPU, memory and the like (``NodeNameToVictims``: full pods;
``NodeNameToMetaVictims``: UIDs, with the node cache). It cannot see GPU sharing (the
GPU resource is ``ignoredByScheduler``). An extender may drop candidates and give each node
another set of victims (pods on that node). schedlab answers with one node:

1. a candidate whose GPUs already have room for the pod (the scheduler's victims suffice),
   the one the placement policy ranks first among them; else
2. the node of :func:`~schedlab.eviction.search.cheapest_eviction`, the replay's own
   search, over the GPU pods of lower priority on the candidates: victims in the victim
   policy's order until the pod's GPUs fit, the node whose victims lose the fewest
   GPU-seconds, the placement policy's ``admit`` step asked first;
3. none (an empty answer: preemption cannot help the GPUs).

The scheduler's own victims on the chosen node are always kept (it needs them gone); the
answer's victims are theirs joined by schedlab's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from schedlab.cluster.shapes import ShapeArrays
from schedlab.eviction.dryrun import admitted_without
from schedlab.eviction.evictable import Evictable
from schedlab.eviction.search import cheapest_eviction
from schedlab.eviction.victims import VictimPolicy
from schedlab.scheduler.placer import NONE, Placement
from schedlab.serve.book import Book
from schedlab.serve.fit import PASS, codes_of
from schedlab.serve.objects import BadRequest, PodRequest, parse_pod


def preempt(book: Book, victims: VictimPolicy, body: Any) -> dict[str, Any]:
    """The answer to one preempt call (``ExtenderPreemptionResult``)."""
    if not isinstance(body, dict) or "Pod" not in body:
        raise BadRequest("the request must be a JSON object with Pod and NodeNameToMetaVictims")
    pod = parse_pod(body["Pod"])
    offered = _offered(body)
    if not pod.wants_gpu:  # not schedlab's business: the scheduler's choice stands
        chosen: dict[str, list[str]] = {node: [] for node in offered}
    else:
        found = choose(book, pod, list(offered), victims, time.time())
        chosen = {} if found is None else {found[0]: found[1]}
    return {
        "NodeNameToMetaVictims": {
            node: {
                "Pods": [{"UID": uid} for uid in dict.fromkeys(offered[node][0] + extra)],
                "NumPDBViolations": offered[node][1],
            }
            for node, extra in chosen.items()
        }
    }


def choose(
    book: Book, pod: PodRequest, candidates: list[str], victims: VictimPolicy, now: float
) -> tuple[str, list[str]] | None:
    """The node to preempt on for ``pod`` among ``candidates`` and the uids of the pods
    schedlab evicts there (beyond the scheduler's own victims); None if no node works."""
    with book.lock:
        rows = book.rows
        found_rows = (rows.row(n, pod) for n in candidates)
        nodes = np.array(sorted(r for r in found_rows if r >= 0), dtype=np.int64)
        if not len(nodes):
            return None
        shape = book.shape(pod)
        fits = nodes[codes_of(book.cluster, shape, nodes) == PASS]
        fits = fits[[book.placer.admits(shape, int(i)) for i in fits]] if len(fits) else fits
        if len(fits):
            keys = book.placer.keys(shape, fits)
            if (keys != NONE).any():
                return rows.node_of[int(fits[int(np.argmax(keys))])], []
        on = set(nodes.tolist())
        held = [
            (uid, h, row)
            for uid, h in book.held.items()
            if h.gpus
            and h.pod.priority < pod.priority
            and uid not in book.inflight
            and (row := rows.row(h.node, h.pod)) in on
        ]
        if not held:
            return None
        kinds = [book.shape(h.pod) for _, h, _ in held]
        shapes = ShapeArrays.build(book.shapes(), len(book.cluster.models))
        evictable = Evictable(book.cluster, shapes, len(held))
        gpus_of = [h.gpus for _, h, _ in held]
        for k, (_, h, row) in enumerate(held):
            evictable.add(k, kinds[k].id, row, h.gpus)
        shape_of = np.array([s.id for s in kinds], dtype=np.int64)
        started = np.array([h.started for _, h, _ in held], dtype=np.float64)

        def accept(node: int, chosen: list[int]) -> bool:
            gone = [(kinds[k], Placement(node, gpus_of[k]), k) for k in chosen]
            return admitted_without(book.placer, shape, node, gone, {})

        rank = np.arange(len(book.cluster), dtype=np.int64)  # the book's tie order
        found = cheapest_eviction(
            shape.id, shapes, evictable, victims, shape_of, started, gpus_of, rank, now, accept
        )
        if found is None:
            return None
        node, chosen = found
        return rows.node_of[node], [held[k][0] for k in chosen]


def _offered(body: dict[str, Any]) -> dict[str, tuple[list[str], int]]:
    """Per candidate node: the uids of the scheduler's victims and its PDB violations."""
    meta, full = body.get("NodeNameToMetaVictims"), body.get("NodeNameToVictims")
    source = meta if meta is not None else full
    if not isinstance(source, dict):
        raise BadRequest("give NodeNameToMetaVictims or NodeNameToVictims (a map of node names)")
    offered = {}
    for node, victims in source.items():
        pods = victims.get("Pods") if isinstance(victims, dict) else None
        if not isinstance(pods, list):
            raise BadRequest(f"victims of node {node}: Pods must be a list")
        uids = []
        for pod in pods:
            if not isinstance(pod, dict):
                raise BadRequest(f"victims of node {node}: each pod must be an object")
            uid = pod.get("UID") if meta is not None else (pod.get("metadata") or {}).get("uid")
            if not isinstance(uid, str) or not uid:
                raise BadRequest(f"victims of node {node}: a pod without a UID")
            uids.append(uid)
        violations = victims.get("NumPDBViolations") or 0
        offered[str(node)] = (uids, int(violations) if isinstance(violations, int) else 0)
    return offered
