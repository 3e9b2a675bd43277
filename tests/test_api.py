"""The public API stays complete and importable."""

from __future__ import annotations

import importlib
import importlib.metadata

import schedlab


def test_all_lists_every_public_name_and_each_resolves() -> None:
    assert schedlab.__all__ == sorted(schedlab.__all__)
    assert set(schedlab.__all__) == set(schedlab._WHERE) | {"__version__"}
    for name, where in schedlab._WHERE.items():
        module = importlib.import_module(where)
        assert name in module.__all__, (name, where)
        assert getattr(schedlab, name) is getattr(module, name), name
    assert schedlab.__version__ == importlib.metadata.version("schedlab")


def test_quick_use_from_python() -> None:
    tasks = schedlab.load_tasks(schedlab.trace.default_pods_path())
    nodes = schedlab.load_nodes(schedlab.trace.default_nodes_path())
    result = schedlab.run_fill(tasks.take(range(2000)), nodes, schedlab.FillConfig("bestfit", 1))
    # The first 2000 pods, tuned up to 1.3 x capacity by drawing copies (seed 1).
    assert (result.tasks, result.placed, result.failed) == (11458, 8780, 2678)
