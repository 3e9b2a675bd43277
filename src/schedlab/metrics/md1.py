"""The M/D/1 queue: Poisson requests, one server, a fixed service time D.

The waiting time's distribution is Erlang's formula (Kleinrock, *Queueing Systems* I, 1975):

    P(W <= x D) = (1 - rho) sum over k = 0 .. floor(x) of (rho (k - x))^k / k! e^(-rho (k - x))

for load rho = lambda D < 1. Its terms alternate in sign and grow like e^(rho x), so it is
summed in decimal arithmetic with enough digits, up to x = 40; beyond, the tail is the
exponential it converges to, P(W > x D) = P(W > 40 D) e^(-theta (x - 40)), where theta > 0
solves rho (e^theta - 1) = theta (the decay rate of the M/D/1 waiting time). A request's
latency (sojourn) is its wait plus D.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext

#: Up to this many service times the exact formula is summed; beyond, the exponential tail.
EXACT_X = 40.0


def wait_cdf(rho: float, x: float) -> float:
    """P(wait <= x service times) in M/D/1 at load ``rho`` (0 <= rho < 1)."""
    if x < 0:
        return 0.0
    if rho <= 0:
        return 1.0
    if rho >= 1:
        return 0.0  # unstable: the queue grows without bound
    if x > EXACT_X:
        tail, theta = _tail(rho)
        return 1.0 - tail * math.exp(-theta * (x - EXACT_X))
    return _exact(rho, x)


@functools.lru_cache(maxsize=4096)
def _tail(rho: float) -> tuple[float, float]:
    """P(W > EXACT_X D) and the decay rate, once per load."""
    return 1.0 - _exact(rho, EXACT_X), decay_rate(rho)


def decay_rate(rho: float) -> float:
    """theta > 0 with rho (e^theta - 1) = theta (bisection; 0 < rho < 1)."""
    low, high = 1e-12, 1.0
    while rho * math.expm1(high) < high:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2
        if rho * math.expm1(mid) < mid:
            low = mid
        else:
            high = mid
    return (low + high) / 2


#: Up to this rho x the terms are summed in floats (cancellation costs < 1e-8 there).
FLOAT_RHO_X = 8.0


def _exact(rho: float, x: float) -> float:
    n = math.floor(x)
    if rho * x <= FLOAT_RHO_X:
        total = 0.0
        for k in range(n + 1):
            y = rho * (k - x)  # <= 0
            if k == 0:
                total += math.exp(-y)
            elif y < 0:
                total += (-1.0) ** k * math.exp(k * math.log(-y) - math.lgamma(k + 1) - y)
        return min(max((1 - rho) * total, 0.0), 1.0)
    with localcontext() as ctx:
        ctx.prec = 30 + int(rho * x / 2.3) + len(str(n))
        lam, big_x = Decimal(rho), Decimal(x)
        grow = (lam * big_x).exp()  # e^(-y) = e^(rho x) e^(-rho k): one exp, then products
        step = (-lam).exp()
        exact, factorial = Decimal(0), Decimal(1)
        for k in range(n + 1):
            if k:
                factorial *= k
                grow *= step
            neg = lam * (k - big_x)  # <= 0
            exact += (neg**k / factorial if k else Decimal(1)) * grow
        value = float((1 - lam) * exact)
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
