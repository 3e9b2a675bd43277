"""Where LLM serving replicas may run: the GPU card of a node list's GPU model (or of one MIG
instance of it), and each replica kept to the GPU models (or instances) that hold its model
with room for a full context; a model that fits none of them is one error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from schedlab.errors import ConfigError
from schedlab.llm.cards import GpuCard, LlmError, gpu_card, model_card, shared_card
from schedlab.llm.plan import fits
from schedlab.llm.roofline import Efficiency
from schedlab.llm.serving import Batching
from schedlab.trace import Nodes
from schedlab.trace.tables import GPU_MILLI
from schedlab.workload import TimedWorkload


def card_of(model: str, cards: Mapping[str, str]) -> GpuCard | None:
    """The GPU card of a node list's GPU model (``cards`` maps models schedlab has no card
    for, e.g. openb's ``G2``, to one); None when there is none."""
    physical, sep, profile = model.rpartition("/")  # a MIG instance: <MODEL>/<profile>
    try:
        if sep:
            return gpu_card(f"{cards.get(physical, physical)}/{profile}")
        return gpu_card(cards.get(model, model))
    except LlmError:
        return None


def task_card(model: str, gpu_milli: int, cards: Mapping[str, str]) -> GpuCard | None:
    """The card a replica of ``gpu_milli`` per GPU sees on GPU model ``model``: the GPU's
    (:func:`card_of`), or with less than a whole GPU, the GPU time-sliced
    (:func:`schedlab.llm.cards.shared_card`: its share of the memory)."""
    card = card_of(model, cards)
    if card is None or gpu_milli >= GPU_MILLI:
        return card
    return shared_card(card, gpu_milli / GPU_MILLI)


def restrict_llm_gpus(workload: TimedWorkload, nodes: Nodes, cards: Mapping[str, str]) -> TimedWorkload:
    """``workload`` with each LLM replica that has no ``gpu_spec`` limited to the node GPU
    models whose card holds its model on its GPUs with room for a full context. A model
    that no card knows, or no GPU model of the node list fits, is an error."""
    if workload.llm is None:
        return workload
    llm = workload.llm
    models = sorted(set(nodes.model.tolist()))
    spec = workload.tasks.gpu_spec.copy()
    tasks = workload.tasks
    for name, tp, milli in sorted(
        {
            (str(m), int(g), int(x))
            for m, g, x in zip(
                llm.model[llm.is_llm], tasks.num_gpu[llm.is_llm], tasks.gpu_milli[llm.is_llm], strict=True
            )
        }
    ):
        try:
            card = model_card(name)
        except LlmError as err:
            raise ConfigError(f"{workload.source}: llm_model {name}: {str(err).split(': ', 1)[1]}") from None
        allowed = [
            m
            for m in models
            if (c := task_card(m, milli, cards)) is not None and fits(card, c, tp, Batching(), Efficiency())
        ]
        if not allowed:
            known = ", ".join(
                f"{m} ({c.name if (c := card_of(m, cards)) else 'no card: map it with --gpu-card'})"
                for m in models
            )
            gpus = f"{tp} GPU(s)" if milli >= GPU_MILLI else f"{milli} milli of a GPU (its memory share)"
            where = f"{workload.source}: {name} on {gpus}"
            raise ConfigError(f"{where} fits no GPU model of {nodes.source}: {known}")
        rows = llm.is_llm & (llm.model == name) & (tasks.num_gpu == tp) & (tasks.gpu_milli == milli)
        rows &= spec == ""
        spec[rows] = "|".join(allowed)
    return replace(workload, tasks=replace(tasks, gpu_spec=spec))


def restrict_llm_instances(workload: TimedWorkload, nodes: Nodes, cards: Mapping[str, str]) -> TimedWorkload:
    """``workload`` (partitioned: :func:`schedlab.cluster.partition.mig_tasks`) with each LLM
    replica that asks for MIG instances limited to the instance models whose card
    (:func:`schedlab.llm.cards.mig_card`) holds its model with room for a full context. Such
    a replica takes one instance; none that fits, or more than one, is an error."""
    if workload.llm is None:
        return workload
    llm, tasks = workload.llm, workload.tasks
    spec = tasks.gpu_spec.astype(object).copy()
    asks = llm.is_llm & np.array(["/" in str(x) for x in spec], dtype=bool)
    for name, text, count in sorted(
        {
            (str(m), str(x), int(g))
            for m, x, g in zip(llm.model[asks], spec[asks], tasks.num_gpu[asks], strict=True)
        }
    ):
        where = f"{workload.source}: {name} on MIG instances ({text})"
        if count != 1:
            raise ConfigError(f"{where}: a replica takes one instance (no tensor parallelism), not {count}")
        card = model_card(name)
        allowed = [
            m
            for m in text.split("|")
            if (c := card_of(m, cards)) is not None and fits(card, c, 1, Batching(), Efficiency())
        ]
        if not allowed:
            raise ConfigError(f"{where}: the model and a full context fit none of them")
        spec[asks & (llm.model == name) & (spec == text)] = "|".join(allowed)
    return replace(workload, tasks=replace(tasks, gpu_spec=spec))
