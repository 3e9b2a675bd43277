"""The public API stays complete and importable."""

from __future__ import annotations

import schedlab


def test_public_names_resolve() -> None:
    for name in schedlab.__all__:
        assert getattr(schedlab, name) is not None, name
    assert sorted(schedlab.__all__) == schedlab.__all__


def test_quick_use_from_python() -> None:
    tasks = schedlab.load_tasks(schedlab.trace.default_pods_path())
    nodes = schedlab.load_nodes(schedlab.trace.default_nodes_path())
    result = schedlab.run_fill(tasks.take(range(2000)), nodes, schedlab.FillConfig("bestfit", 1))
    assert result.placed + result.failed == result.tasks
