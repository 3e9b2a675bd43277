"""LLM inference at token level: model and GPU cards, a roofline iteration-time model, a
compiled simulator of continuously batched serving replicas (vLLM's scheduling rules, KV-cache
blocks, preemption by recomputation) and capacity planning against TTFT/TBT SLOs.

Modules: :mod:`cards` (what a model and a GPU are), :mod:`roofline` (how long one batch
takes, and how many KV-cache blocks fit), :mod:`profiles` (measured iteration times and the
roofline fitted to them), :mod:`requests` (request traces with token counts),
:mod:`kernels` (the replica simulator) and :mod:`kernel_state` (its arrays and the steps
that change them), :mod:`serving` (a deployment run on a trace, its metrics), :mod:`plan`
(the fewest replicas that meet an SLO). See docs/llm.md.
"""
