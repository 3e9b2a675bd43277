"""What a result depends on, recorded with it: the configuration, the SHA-256 of every
input file, the schedlab version and the source of the plugin code in use.

Every ``--json`` document, ``summary.json`` and Parquet file schedlab writes carries a
:func:`stamp`; a sweep's run id is a digest of the same facts (:mod:`schedlab.sweep.matrix`).
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab import plugins
from schedlab.files import dumps, file_sha256
from schedlab.version import __version__


def inputs(paths: Mapping[str, Path | None]) -> dict[str, str]:
    """``{path: SHA-256}`` of each input file given (None entries are left out)."""
    return {str(path): file_sha256(path) for path in paths.values() if path is not None}


def code_digest(cls: type) -> str:
    """SHA-256 of the source file of ``cls`` when it is user code (a plugin); "" for
    schedlab's own classes, which the version already identifies."""
    module = cls.__module__
    if module == "schedlab" or module.startswith("schedlab."):
        return ""
    for plugin in plugins.loaded():  # the source as loaded, even if the file changed since
        if plugin.module == module:
            return plugin.sha256
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        source = None
    if source and os.path.isfile(source):
        return file_sha256(Path(source))
    return hashlib.sha256(module.encode()).hexdigest()  # no file to read: the name at least


def stamp(config: Mapping[str, Any], files: Mapping[str, str]) -> dict[str, Any]:
    """The provenance keys of a result document: ``config``, ``inputs``, ``version`` and,
    when plugins are loaded, ``plugins`` (target: source SHA-256)."""
    doc: dict[str, Any] = {"config": dict(config), "inputs": dict(files), "version": __version__}
    loaded = plugins.digests()
    if loaded:
        doc["plugins"] = loaded
    return doc


def write_parquet(frame: pd.DataFrame, path: Path, meta: Mapping[str, Any]) -> None:
    """Write ``frame`` as Parquet with ``meta`` (a :func:`stamp`) as JSON under the schema
    metadata key ``schedlab``; atomically (a temporary file, then a rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"schedlab": dumps(meta).encode()}
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_stamp(path: Path) -> dict[str, Any]:
    """The :func:`stamp` stored in a Parquet file by :func:`write_parquet` ({} if none)."""
    import json

    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"schedlab")
    return dict(json.loads(raw)) if raw else {}
