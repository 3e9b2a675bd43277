"""Published numbers of the ATC'23 FGD paper's reference simulator (default openb trace).

Mean of 10 seeds, tune ratio 1.3, the GPU node list; from docs/fgd-method.md.
"""

from __future__ import annotations

#: GPU allocation % at arrived x, per policy.
ALLOC_PCT: dict[str, dict[int, float]] = {
    "random": {80: 78.66, 90: 85.02, 100: 86.30, 130: 87.47},
    "dotprod": {80: 80.02, 90: 89.98, 100: 90.62, 130: 90.85},
    "clustering": {80: 80.02, 90: 89.98, 100: 91.65, 130: 91.88},
    "packing": {80: 80.02, 90: 89.98, 100: 91.78, 130: 92.00},
    "bestfit": {80: 80.02, 90: 89.99, 100: 92.86, 130: 93.08},
    "fgd": {80: 80.02, 90: 89.98, 100: 95.23, 130: 95.39},
}
#: Fragment amount % of capacity at arrived x = 90.
FRAG_AMOUNT_PCT_90: dict[str, float] = {
    "random": 14.48,
    "dotprod": 9.43,
    "clustering": 8.45,
    "packing": 8.37,
    "bestfit": 7.41,
    "fgd": 5.00,
}
#: Fragment ratio % of free GPU at arrived x = 80.
FRAG_RATIO_PCT_80: dict[str, float] = {
    "random": 74.64,
    "dotprod": 50.50,
    "clustering": 46.86,
    "packing": 46.43,
    "bestfit": 41.49,
    "fgd": 29.86,
}
#: Seeds of the published runs.
SEEDS = tuple(range(42, 52))
