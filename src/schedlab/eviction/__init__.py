"""Where to preempt, shared by the replay and the kube-scheduler extender.

- :mod:`~schedlab.eviction.victims`: victim policies (which tasks of a node go first),
  registered by name (``--victim``);
- :mod:`~schedlab.eviction.evictable`: the preemptible tasks per node and what they hold;
- :mod:`~schedlab.eviction.search`: the node whose evictions cost the fewest GPU-seconds;
- :mod:`~schedlab.eviction.dryrun`: whether the placement policy's ``admit`` step takes a
  node once the victims are gone.
"""
