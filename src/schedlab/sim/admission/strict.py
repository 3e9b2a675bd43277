"""``strict``: head-of-line blocking; the first waiting task blocks all others."""

from __future__ import annotations

from schedlab.sim.admission.base import Actions, AdmissionPolicy, register


@register
class Strict(AdmissionPolicy):
    """``strict``: tasks start in queue order only; an arrival joins a non-empty queue.

    A head task that does not fit may preempt (if the preemption policy lets it); it is out
    of the queue while its preemption offers the freed node to the queue.
    """

    name = "strict"

    def arrive(self, task: int, act: Actions) -> None:
        if act.queue:
            act.enqueue(task)
            self._drain(act)
        elif not act.start(task) and not act.preempt_for(task):
            act.enqueue(task)

    def evicted(self, task: int, act: Actions) -> None:
        act.enqueue(task)

    def freed(self, node: int, act: Actions) -> None:
        self._drain(act)

    def _drain(self, act: Actions) -> None:
        queue = act.queue
        while queue:
            s = queue.head()
            assert s is not None
            item = queue.pop(s)
            if act.start(item[1]):
                continue
            if not act.preempt_for(item[1]):
                act.requeue(item)
                return

    def compiled_strict(self) -> bool:
        return True
