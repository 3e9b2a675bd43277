"""Fair-share weights per user (``replay --quotas FILE``): a CSV ``user,weight``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.errors import TraceError
from schedlab.trace.columns import check_unique, read_positive, read_strings
from schedlab.trace.csvfile import read_rows


def load_quotas(path: Path) -> tuple[tuple[str, float], ...]:
    """``((user, weight), ...)``: every weight a positive number, every user once."""
    frame = read_rows(path, ("user", "weight"))
    users = read_strings(frame, "user")
    check_unique(path, users, "user", "user")
    weights = read_positive(path, frame, "weight")
    if np.isnan(weights).any():
        raise TraceError(path, int(np.flatnonzero(np.isnan(weights))[0]) + 2, "weight", "missing value")
    return tuple((str(u), float(w)) for u, w in zip(users, weights, strict=True))
