"""Writing result files safely: strict JSON (atomically), and content digests of input files."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any


def strict(doc: Any) -> Any:
    """``doc`` with every non-finite float (NaN, infinity) replaced by None, and numpy
    scalars and arrays by plain Python values, so that it is valid JSON."""
    if isinstance(doc, dict):
        return {str(k): strict(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [strict(v) for v in doc]
    if hasattr(doc, "tolist") and not isinstance(doc, str):  # numpy scalar or array
        return strict(doc.tolist())
    if isinstance(doc, float) and not math.isfinite(doc):
        return None
    if isinstance(doc, Path):
        return str(doc)
    return doc


def dumps(doc: Any, indent: int | None = None) -> str:
    """Strict JSON text of ``doc`` (see :func:`strict`)."""
    return json.dumps(strict(doc), indent=indent, allow_nan=False)


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as strict JSON atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex (read in blocks: large traces need little memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
