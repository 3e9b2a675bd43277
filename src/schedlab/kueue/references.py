"""Checks of a whole Kueue configuration, once every object is read: flavors and
ClusterQueues that objects name but nobody defines (a warning, as Kueue keeps them
inactive), cohorts named only by their members or children (made, without quota), and
cohort cycles (an error naming the file and the cycle)."""

from __future__ import annotations

from schedlab.errors import ConfigError
from schedlab.kueue import objects as o
from schedlab.kueue.fields import Doc


def check_references(config: o.KueueConfig, origins: dict[tuple[str, str], str]) -> None:
    """What concerns several objects: references, implicit cohorts, cycles. ``origins``: per
    (kind, name), the file and document it came from."""
    for queue in config.cluster_queues.values():
        d = Doc(origins[("ClusterQueue", queue.name)], f"ClusterQueue {queue.name}")
        missing = sorted({f.flavor for g in queue.groups for f in g.flavors} - set(config.flavors))
        if missing:
            d.warn(
                "spec.resourceGroups",
                f"ResourceFlavor {missing[0]} is not defined: Kueue keeps this ClusterQueue inactive",
            )
        if queue.cohort and queue.cohort not in config.cohorts:
            config.cohorts[queue.cohort] = o.Cohort(queue.cohort)  # named only: no quota of its own
    for cohort in list(config.cohorts.values()):
        if cohort.parent and cohort.parent not in config.cohorts:
            config.cohorts[cohort.parent] = o.Cohort(cohort.parent)
    for cohort in config.cohorts.values():
        path, at = [cohort.name], cohort
        while at.parent:
            if at.parent in path:
                where = origins.get(("Cohort", cohort.name), "")
                raise ConfigError(
                    f"{where} (Cohort {cohort.name}): spec.parent: a cycle: {' -> '.join([*path, at.parent])}"
                )
            path.append(at.parent)
            at = config.cohorts[at.parent]
    for key, local in config.local_queues.items():
        if local.cluster_queue not in config.cluster_queues:
            Doc(origins[("LocalQueue", key)], f"LocalQueue {key}").warn(
                "spec.clusterQueue",
                f"ClusterQueue {local.cluster_queue} is not defined: its workloads never run",
            )
