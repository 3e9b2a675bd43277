"""The M/D/1 queue: Poisson requests, one server, a fixed service time D.

The waiting time's distribution is Erlang's formula (Kleinrock, *Queueing Systems* I, 1975):

    P(W <= x D) = (1 - rho) sum over k = 0 .. floor(x) of (rho (k - x))^k / k! e^(-rho (k - x))

for load rho = lambda D < 1. Its terms alternate in sign and grow like e^(rho x), so it is
summed in decimal arithmetic with enough digits; a request's latency (sojourn) is its wait
plus D.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

#: Beyond this many service times the waiting time is taken as certain to be shorter
#: (P(W > x D) < 1e-12 there for every load up to 0.999).
MAX_X = 60_000.0


def wait_cdf(rho: float, x: float) -> float:
    """P(wait <= x service times) in M/D/1 at load ``rho`` (0 <= rho < 1)."""
    if x < 0:
        return 0.0
    if rho <= 0:
        return 1.0
    if rho >= 1:
        return 0.0  # unstable: the queue grows without bound
    if x >= MAX_X:
        return 1.0
    n = math.floor(x)
    with localcontext() as ctx:
        ctx.prec = 30 + int(rho * x / 2.3) + len(str(n))
        lam, big_x = Decimal(rho), Decimal(x)
        total, factorial = Decimal(0), Decimal(1)
        for k in range(n + 1):
            if k:
                factorial *= k
            y = lam * (k - big_x)  # <= 0
            total += (y**k / factorial if k else Decimal(1)) * (-y).exp()
        value = float((1 - lam) * total)
    return min(max(value, 0.0), 1.0)


def latency_cdf(rho: float, service: float, t: float) -> float:
    """P(latency <= t) for requests with fixed service time ``service`` at load ``rho``."""
    return wait_cdf(rho, t / service - 1.0) if service > 0 else 1.0


def latency_quantile(rho: float, service: float, q: float) -> float:
    """The ``q``-quantile of the latency (infinite for an unstable queue)."""
    if rho >= 1:
        return math.inf
    low, high = service, service * 2.0
    while latency_cdf(rho, service, high) < q:
        high *= 2.0
    for _ in range(60):
        mid = (low + high) / 2
        if latency_cdf(rho, service, mid) < q:
            low = mid
        else:
            high = mid
    return high


def mean_latency(rho: float, service: float) -> float:
    """Pollaczek-Khinchine: D + rho D / (2 (1 - rho))."""
    return service + rho * service / (2 * (1 - rho)) if rho < 1 else math.inf
