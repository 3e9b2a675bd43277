"""The compiled replay: the waiting queue, evictions and the event loop as numba kernels.

The compiled twin of :mod:`schedlab.sim.reference`; :mod:`schedlab.sim.compiled` runs it.
"""
