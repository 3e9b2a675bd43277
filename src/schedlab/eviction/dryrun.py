"""The dry run behind an eviction: would the placement policy admit a node for a task once
some victims are gone? They leave the cluster state and their GPUs' co-location groups, the
policy is asked, and everything is put back as it was."""

from __future__ import annotations

from collections.abc import Sequence

from schedlab.cluster.shapes import Shape
from schedlab.scheduler import Placement, Placer


def admitted_without(
    placer: Placer,
    shape: Shape,
    node: int,
    victims: Sequence[tuple[Shape, Placement | None, int]],
    groups: dict[tuple[int, int], list[int]],
) -> bool:
    """Whether ``placer``'s policy admits ``node`` for ``shape`` without ``victims`` ((shape,
    placement, task) each, all on ``node``); ``groups``: the tasks on each (node, GPU)."""
    saved = {key: list(group) for key, group in groups.items() if key[0] == node}
    for held, placement, task in victims:
        assert placement is not None
        placer.release(held, placement)
        for gpu in placement.gpus:
            if task in groups.get((node, gpu), ()):
                groups[(node, gpu)].remove(task)
    try:
        return placer.admits(shape, node)
    finally:
        groups.update(saved)
        for held, placement, _ in victims:
            assert placement is not None
            placer.cluster.place(node, held, placement.gpus, check=False)
