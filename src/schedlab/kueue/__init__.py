"""Kueue what-if: an operator's Kueue configuration (``kueue.x-k8s.io``) as schedlab reads it.

- :mod:`~schedlab.kueue.objects`: ResourceFlavors, ClusterQueues, Cohorts, LocalQueues and
  WorkloadPriorityClasses as frozen data;
- :mod:`~schedlab.kueue.fields`: reading one YAML document's fields (types, enums,
  quantities; unknown and unsupported fields warned about by name);
- :mod:`~schedlab.kueue.load`: multi-document YAML files into one checked
  :class:`~schedlab.kueue.objects.KueueConfig`;
- :mod:`~schedlab.kueue.tree`: the quota tree (cohorts, ClusterQueues, flavors, LocalQueues);
- :mod:`~schedlab.kueue.quota`: Kueue's quota arithmetic (available, borrowing, lending,
  usage bubbling up the cohort tree) on numpy arrays;
- :mod:`~schedlab.kueue.assign`: flavor assignment (flavors in order, borrowing, flavor
  fungibility, pending reasons), admission and release;
- :mod:`~schedlab.kueue.admission`: admission over time (the reference);
- :mod:`~schedlab.kueue.compiled` and :mod:`~schedlab.kueue.kernel` (with
  :mod:`~schedlab.kueue.kernel_quota` and :mod:`~schedlab.kueue.kernel_heaps`): the same,
  compiled, for configurations without preemption, fair sharing or placement.
"""
