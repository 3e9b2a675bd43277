"""Which MIG layout each node's GPUs start in: its GPU model's ``--mig`` layout, or its own
from the node list's optional ``mig`` column (one layout for every GPU of the node, or one
per GPU joined by ``;``; the cell wins). Applied by :mod:`schedlab.cluster.partition`."""

from __future__ import annotations

from schedlab.cluster.mig import MigError, MigModel, mig_model, parse_layout, place_layout
from schedlab.errors import TraceError
from schedlab.trace.tables import Nodes

#: Per node, its MIG model and each of its GPUs' instances (None: its GPUs stay whole).
NodeLayouts = list[tuple[MigModel, list[list[str]]] | None]


def node_layouts(nodes: Nodes, layouts: dict[str, tuple[MigModel, list[str]]]) -> NodeLayouts:
    """Per node, the instances of each GPU: the node list's ``mig`` column where it names a
    layout (one for every GPU, or one per GPU joined by ``;``), else its model's in
    ``layouts`` (``--mig``); a bad cell is one error naming its line."""
    found: NodeLayouts = []
    memo: dict[tuple[str, str, int], tuple[MigModel, list[list[str]]]] = {}
    for i, (name, gpus, model, text) in enumerate(
        zip(nodes.name, nodes.num_gpu.tolist(), nodes.model, cells(nodes), strict=True)
    ):
        if text:
            key = (str(model), text, gpus)
            if key not in memo:
                try:
                    memo[key] = _cell(str(model), text, gpus)
                except MigError as err:
                    raise TraceError(nodes.source, i + 2, "mig", f"node {name}: {err}") from None
            found.append(memo[key])
        elif model in layouts and gpus > 0:
            mig, names = layouts[model]
            found.append((mig, [names] * gpus))
        else:
            found.append(None)
    return found


def _cell(model: str, text: str, gpus: int) -> tuple[MigModel, list[list[str]]]:
    """A node list's ``mig`` cell on a node of ``gpus`` GPUs of ``model``: its GPUs' layouts."""
    mig = mig_model(model)
    if mig is None or gpus == 0:
        what = (
            "no GPU"
            if gpus == 0
            else f"GPU model {model}, which has no MIG (MIG-capable: A100, H100, H200, A30)"
        )
        raise MigError(f"layout {text!r} on a node with {what}")
    parts = [part.strip() for part in text.split(";")]
    if len(parts) not in (1, gpus):
        raise MigError(f"{len(parts)} layouts joined by ';' for {gpus} GPUs (give one, or one per GPU)")
    per_gpu = [[p.name for p, _ in place_layout(mig, parse_layout(part))] for part in parts]
    return mig, per_gpu * gpus if len(parts) == 1 else per_gpu


def cells(nodes: Nodes) -> list[str]:
    """Per node, its ``mig`` cell, stripped ('' where it has none, or the list no column)."""
    return [""] * len(nodes) if nodes.mig is None else [str(cell).strip() for cell in nodes.mig]


def column_layouts(nodes: Nodes) -> int:
    """How many nodes the node list's ``mig`` column names a layout for."""
    return sum(map(bool, cells(nodes)))


def partitioned(nodes: Nodes) -> bool:
    """Whether the node list's ``mig`` column partitions some node."""
    return column_layouts(nodes) > 0
