"""Type aliases of the numpy arrays used throughout schedlab."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]
