"""``backfill``: any waiting task that fits starts, in queue order (the default)."""

from __future__ import annotations

from schedlab.sim.admission.base import Actions, AdmissionPolicy, register


@register
class Backfill(AdmissionPolicy):
    """``backfill``: try waiting tasks in queue order and start every one that fits.

    After resources are freed on a node, only waiting shapes that fit that node are tried:
    a task that did not fit before can only fit where resources were freed.

    Gangs: a gang at the head of the queue holds it. Nothing behind it starts (arrivals
    queue) until it does, so that small tasks cannot starve it; once it starts, every
    waiting task is tried again in order. A gang further back is tried in order like any task.
    """

    name = "backfill"

    def arrive(self, task: int, act: Actions) -> None:
        if act.has_gangs and self._gang_holds(act):
            act.enqueue(task)
            self._try(act, None)
        elif not act.start(task) and not act.preempt_for(task):
            act.enqueue(task)

    def evicted(self, task: int, act: Actions) -> None:
        if not act.start(task):
            act.enqueue(task)

    def freed(self, node: int, act: Actions) -> None:
        self._try(act, node)

    def _try(self, act: Actions, node: int | None) -> None:
        """Start waiting tasks in order: those whose shape fits ``node`` (every shape when
        None), stopping at a gang at the head that cannot start."""
        queue = act.queue
        candidates = queue.fitting_node(node) if node is not None else queue.waiting_shapes()
        while candidates:
            if act.has_gangs and self._gang_holds(act):
                s = queue.head()
                assert s is not None
                if not act.start(queue.first(s)[1]):
                    return  # the gang holds the queue
                queue.pop(s)
                node = None  # what waited behind it may start anywhere now
                candidates = queue.waiting_shapes()
                continue
            s = queue.head(candidates)
            assert s is not None
            if act.start(queue.first(s)[1]):
                queue.pop(s)
                candidates = queue.fitting_node(node) if node is not None else queue.waiting_shapes()
            else:
                candidates.discard(s)

    @staticmethod
    def _gang_holds(act: Actions) -> bool:
        """Whether the task at the head of the queue is a gang."""
        queue = act.queue
        s = queue.head()
        return s is not None and act.gang_size(queue.first(s)[1]) > 1

    def compiled_strict(self) -> bool:
        return False
