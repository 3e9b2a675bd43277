"""Why Kueue workloads wait: the reason a waiting workload pends now, and the waiting
workloads of each ClusterQueue counted by kind at sampled moments (for the admission
replay, :mod:`schedlab.kueue.admission`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from schedlab.kueue.assign import Assignment, Pending, Preempting

if TYPE_CHECKING:
    from schedlab.kueue.admission import AdmissionReplay

BLOCKED, SHORT, NEVER, UNPLACED, UNPLACEABLE = (
    "blocked by its queue's head (StrictFIFO)",
    "insufficient quota now",
    "more than the queue can ever use",
    "no room on its flavors' nodes now",
    "no room on its flavors' nodes even when empty",
)


def why(found: Assignment | Preempting | Pending) -> Pending:
    """Why a workload that is not admitted pends."""
    assert not isinstance(found, Assignment)
    return found.pending if isinstance(found, Preempting) else found


def count_waiting(r: AdmissionReplay, now: float) -> None:
    """Count each queue's waiting workloads by why they wait, shape by shape: after the
    cycles a best-effort queue's waiting shapes are all set aside with their reason; a
    StrictFIFO queue's head has its reason and the rest are blocked by it."""
    counts: dict[str, dict[str, int]] = {}
    for q, queue in r.queues.items():
        head = queue.head()
        first = r.memo.keys[head[2]] if head is not None and not queue.best_effort else None
        kinds: Counter[str] = Counter()
        for key, entries in queue.shapes.items():
            if not entries:
                continue
            if key in r.unplaced and (queue.best_effort or key == first):
                kind = UNPLACED if r.unplaced[key][1] else UNPLACEABLE
                kinds[kind] += 1 if key == first else len(entries)
                if key == first:
                    kinds[BLOCKED] += len(entries) - 1
            elif queue.best_effort or key == first:
                kept = r.memo.found.get(key)
                found = kept[1] if kept is not None else None
                never = isinstance(found, Pending) and all(s[4] for s in found.shortfalls)
                kinds[NEVER if never else SHORT] += 1 if key == first else len(entries)
                if key == first:
                    kinds[BLOCKED] += len(entries) - 1
            else:
                kinds[BLOCKED] += len(entries)
        counts[q] = {k: n for k, n in kinds.items() if n}
    r.outcome.waiting.append((now, counts))


def reason(r: AdmissionReplay, i: int) -> str:
    """Why waiting workload ``i`` pends now."""
    r.memo.version += 1  # the reasons say what is available now, not when cached
    q = r.workloads[i].queue
    queue, found = r.queues[q], r.memo.assign(i)
    unplaced = r.unplaced.get(r.memo.keys[i])
    if unplaced is not None and (queue.best_effort or r.order(i) == queue.head()):
        flavors, ever = unplaced
        when = "now" if ever else "even when empty"
        return f"quota fits, but its pods fit no node of flavor {flavors} {when}"
    if isinstance(found, Assignment) or (not queue.best_effort and r.order(i) != queue.head()):
        return "blocked by its queue's head"
    if isinstance(found, Preempting) and q in r.preempts:
        return f"{why(found)}; no admitted workload may be preempted for it"
    return str(why(found))
