"""Defragmentation's plan on the reference path: the nodes to free for the head of the queue
and what to move off each (the rules are in :mod:`schedlab.sim.defrag`'s docstring; the
mirror is :mod:`schedlab.sim.kernels.defrag_plan`).

What moves off a node is a list of *units*: a single task, or (with ``--defrag-gangs``) a
gang named by its first member on the node, which moves whole (all its members, wherever
they run) and frees on the node what all its members there hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from schedlab.cluster.feasibility import nodes_fitting, shapes_fitting
from schedlab.sim.exclusions import excluded_nodes
from schedlab.sim.gangs import copies_per_node
from schedlab.sim.result import RUNNING

if TYPE_CHECKING:
    from schedlab.defrag import DefragPolicy
    from schedlab.sim.reference import Replay

Plan = tuple[NDArray[np.int64], list[tuple[int, list[int]]]]
#: Per shape (a gang's: ``-1 - shape``): the nodes it fits now (a gang's: the tasks of its
#: shape they hold) out of those where the head fits, and that per node.
Room = tuple[int, NDArray[Any]]


def on_node(r: Replay, v: int, node: int) -> list[int]:
    """The tasks of unit ``v`` (``v`` alone, or its gang's members) running on ``node``."""
    m = r.model
    if m.gang_size[v] == 1:
        return [v]
    return [int(u) for u in r._members(v) if r.out.node[u] == node and r.out.status[u] == RUNNING]


def cost(r: Replay, v: int) -> int:
    """Moves the unit of ``v`` takes: its gang's size (1 for a single task)."""
    return int(r.model.gang_size[v])


def plan(r: Replay, policy: DefragPolicy, t: int, left: int, gangs: bool) -> Plan | None:
    """For ``t`` (its gang: ``size`` tasks of its shape), the nodes to free, each with the
    units to move off it, in the policy's order (key, node rank, first task index), and the
    nodes moved tasks may not take (those freed, and those where ``t``'s shape fits now);
    None when no plan within the ``left`` moves gives the gang room. Running gangs are
    units only with ``gangs``."""
    m = r.model
    c, sh = m.cluster, m.shapes
    s, size = int(m.shape_of[t]), int(m.gang_size[t])
    excluded = excluded_nodes(r, t, s) if size == 1 else None  # a gang takes any node
    usable = c.up.copy()
    if excluded is not None:
        usable[excluded] = False
    shape = m.table.shapes[s]
    fitting = nodes_fitting(c.cpu_left, c.mem_left, c.gpu_free, c.model, shape) & usable
    fit = set(np.flatnonzero(fitting).tolist())
    missing = size - int(copies_per_node(c, shape)[usable].sum())
    if missing <= 0:
        return None
    by_node: dict[int, list[int]] = {}  # each node's units: tasks, and gangs by their first member there
    for v in np.flatnonzero(r.out.status == RUNNING).tolist():
        units = by_node.setdefault(int(r.out.node[v]), [])
        if m.gang_size[v] == 1 or (gangs and on_node(r, v, int(r.out.node[v]))[0] == v):
            units.append(v)
    room: dict[int, Room] = {}
    candidates = []
    for node, units in by_node.items():
        if not usable[node] or node in fit:
            continue
        movable = sorted(
            (v for v in units if _elsewhere(r, v, node, fit, room)),
            key=lambda v: (cost(r, v) * int(sh.total_gpu_milli[m.shape_of[v]]), v),
        )
        chosen = _set(r, s, node, movable, left)
        if not chosen:
            continue
        frag = int(m.frag.node_frag(c.cpu_left[[node]], c.gpu_free[[node]], c.model[[node]])[0])
        milli = sum(cost(r, v) * int(sh.total_gpu_milli[m.shape_of[v]]) for v in chosen)
        moves = sum(cost(r, v) for v in chosen)
        key = (*policy.key(moves, milli, frag), int(m.rank[node]), chosen[0])
        candidates.append((key, node, chosen, moves))
    sets: list[tuple[int, list[int]]] = []
    for _, node, chosen, moves in sorted(candidates):
        if len(sets) == missing:
            break
        if moves <= left:
            sets.append((node, chosen))
            left -= moves
    if len(sets) < missing:
        return None
    return np.array(sorted(fit | {n for n, _ in sets}), dtype=np.int64), sets


def _set(r: Replay, s: int, node: int, movable: list[int], left: int) -> list[int]:
    """The units of ``movable`` (in order) to move off ``node`` for shape ``s``: the first
    that alone makes room, else each that helps until it fits (at most ``left`` moves);
    empty if none does."""
    for v in movable:
        if cost(r, v) <= left and _fits(r, s, node, on_node(r, v, node)):
            return [v]
    m = r.model
    c, sh = m.cluster, m.shapes
    cpu, mem = int(c.cpu_left[node]), int(c.mem_left[node])
    free = c.gpu_free[node].copy()
    need, k = int(sh.gpu_milli[s]), int(sh.num_gpu[s])
    chosen: list[int] = []
    moves = 0
    for v in movable:
        if moves + cost(r, v) > left:
            continue
        here = on_node(r, v, node)
        vs = int(m.shape_of[v])
        short = k > 0 and int((free >= need).sum()) < k
        if (
            (cpu < sh.cpu[s] and sh.cpu[vs] > 0)
            or (mem < sh.mem[s] and sh.mem[vs] > 0)
            or (short and any(free[g] < need for u in here for g in r.gpus[u]))
        ):
            chosen.append(v)
            moves += cost(r, v)
            for u in here:
                cpu, mem = cpu + int(sh.cpu[vs]), mem + int(sh.mem[vs])
                for g in r.gpus[u]:
                    free[g] += sh.gpu_milli[vs]
            if shapes_fitting(cpu, mem, free, int(c.model[node]), sh, np.array([s]))[0]:
                return chosen
    return []


def _elsewhere(r: Replay, v: int, node: int, fit: set[int], room: dict[int, Room]) -> bool:
    """Whether unit ``v`` fits now elsewhere than ``node`` and the nodes of ``fit``: a task
    on some node, a gang (its members where they are) as many tasks of its shape as it has."""
    m = r.model
    vs, size = int(m.shape_of[v]), cost(r, v)
    c, shape = m.cluster, m.table.shapes[vs]
    key = vs if size == 1 else -1 - vs
    if key not in room:
        if size == 1:
            fits = nodes_fitting(c.cpu_left, c.mem_left, c.gpu_free, c.model, shape) & c.up
            room[key] = (int(fits.sum()) - sum(int(fits[n]) for n in fit), fits)
        else:
            copies = copies_per_node(c, shape)
            room[key] = (int(copies.sum()) - sum(int(copies[n]) for n in fit), copies)
    total, per_node = room[key]
    if size == 1:
        return total - _fits(r, vs, node, []) > 0
    return total - int(per_node[node]) >= size


def _fits(r: Replay, s: int, node: int, without: list[int]) -> bool:
    """Whether shape ``s`` fits ``node`` now, or once the tasks ``without`` (running there)
    have left; the rule of ``cluster.feasibility``."""
    m = r.model
    c, sh = m.cluster, m.shapes
    if not c.up[node]:
        return False
    cpu, mem = int(c.cpu_left[node]), int(c.mem_left[node])
    free = c.gpu_free[node].copy()
    for v in without:
        vs = int(m.shape_of[v])
        cpu, mem = cpu + int(sh.cpu[vs]), mem + int(sh.mem[vs])
        for g in r.gpus[v]:
            free[g] += sh.gpu_milli[vs]
    return bool(shapes_fitting(cpu, mem, free, int(c.model[node]), sh, np.array([s]))[0])
