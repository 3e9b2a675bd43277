"""``backfill``: any waiting task that fits starts, in queue order (the default)."""

from __future__ import annotations

from schedlab.sim.admission.base import Actions, AdmissionPolicy, register


@register
class Backfill(AdmissionPolicy):
    """``backfill``: try waiting tasks in queue order and start every one that fits.

    After resources are freed on a node, only waiting shapes that fit that node are tried:
    a task that did not fit before can only fit where resources were freed.
    """

    name = "backfill"

    def arrive(self, task: int, act: Actions) -> None:
        if not act.start(task) and not act.preempt_for(task):
            act.enqueue(task)

    def evicted(self, task: int, act: Actions) -> None:
        if not act.start(task):
            act.enqueue(task)

    def freed(self, node: int, act: Actions) -> None:
        queue = act.queue
        candidates = queue.fitting_node(node)
        while candidates:
            s = queue.head(candidates)
            assert s is not None
            if act.start(queue.first(s)[1]):
                queue.pop(s)
                candidates = queue.fitting_node(node)
            else:
                candidates.discard(s)

    def compiled_strict(self) -> bool:
        return False
