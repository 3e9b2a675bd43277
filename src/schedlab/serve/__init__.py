"""``schedlab serve``: schedlab's placement policies as a kube-scheduler HTTP extender.

- :mod:`~schedlab.serve.objects`: Pods and Nodes in the FGD GPU-sharing convention;
- :mod:`~schedlab.serve.book`: the live cluster (the simulator's state, shapes and placer);
- :mod:`~schedlab.serve.app`: the HTTP verbs (Starlette), health and Prometheus metrics;
- :mod:`~schedlab.serve.kube`: Bindings, and list + watch of the API server (``schedlab[k8s]``).
"""
