"""Nodes whose ``nvidia.com/gpu`` is not whole GPUs: MIG's ``single`` strategy (instances)
and time-slicing replicas, as GPU feature discovery labels them."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.cluster.mig import mig_model
from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.instances import instance_share
from schedlab.serve.metrics import allocation
from schedlab.serve.objects import BadRequest, parse_node
from tests.serve.test_extender import TYPICAL, MemoryBinder, pod
from tests.serve.test_mig import bind, call, mig_pod


def gfd_node(name: str, advertised: int, product: str, replicas: str | None = None) -> dict[str, Any]:
    """A node as the device plugin and GPU feature discovery describe it."""
    capacity = {"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": str(advertised)}
    labels = {"nvidia.com/gpu.product": product, "nvidia.com/mig.strategy": "single"}
    if replicas is not None:
        labels["nvidia.com/gpu.replicas"] = replicas
    return {"metadata": {"name": name, "labels": labels}, "status": {"capacity": capacity}}


def test_single_strategy_instances_are_instances_of_the_products_profile() -> None:
    n = parse_node(gfd_node("s", 14, "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb", "1"))
    assert (n.num_gpu, n.model, n.mig) == (0, "NVIDIA-A100-SXM4-80GB", (("1g.10gb", 14),))
    assert instance_share(n.model, "1g.10gb") == pytest.approx(1 / 7)
    shared = parse_node(gfd_node("t", 28, "A100-SXM4-40GB-MIG-3g.20gb-SHARED", "2"))
    assert (shared.num_gpu, shared.model, shared.mig) == (0, "A100-SXM4-40GB", (("3g.20gb", 14),))


def test_time_slicing_replicas_count_each_gpu_once() -> None:
    n = parse_node(gfd_node("r", 8, "Tesla-T4-SHARED", "4"))
    assert (n.num_gpu, n.model, n.mig) == (2, "Tesla-T4", ())
    plain = parse_node(gfd_node("p", 8, "NVIDIA-H100-80GB-HBM3", "1"))  # GFD writes replicas=1 too
    assert (plain.num_gpu, plain.model) == (8, "NVIDIA-H100-80GB-HBM3")
    fgd = gfd_node("f", 8, "Tesla-T4-SHARED", "4")  # the FGD convention's count wins: whole GPUs
    fgd["status"]["capacity"]["alibabacloud.com/gpu-count"] = "3"
    fgd["metadata"]["labels"]["alibabacloud.com/gpu-card-model"] = "T4"
    assert (parse_node(fgd).num_gpu, parse_node(fgd).model) == (3, "T4")


@pytest.mark.parametrize(
    ("advertised", "replicas", "message"),
    [
        (10, "4", r"node x: nvidia\.com/gpu 10 is not a multiple of nvidia\.com/gpu\.replicas 4"),
        (8, "two", r"node x: label nvidia\.com/gpu\.replicas must be an integer 1-1024, got 'two'"),
        (8, "0", r"must be an integer 1-1024, got '0'"),
        (65, "1", r"node x: more than 64 GPUs"),
        (260, "4", r"node x: more than 64 GPUs"),
    ],
)
def test_labels_that_do_not_add_up_are_one_clear_error(advertised: int, replicas: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_node(gfd_node("x", advertised, "Tesla-T4-SHARED", replicas))


def test_gpu_feature_discoverys_product_names_are_mig_models() -> None:
    for product, model in (
        ("NVIDIA-A100-80GB-PCIe", "A100-80GB"),
        ("NVIDIA-A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA-H100-80GB-HBM3", "H100-80GB"),
        ("NVIDIA-H100-PCIe", "H100-80GB"),
        ("NVIDIA-H100-NVL", "H100-94GB"),
        ("NVIDIA-H200", "H200-141GB"),
    ):
        found = mig_model(product)
        assert found is not None and found.name == model, product


def test_the_extender_books_a_single_strategy_node_as_instances() -> None:
    book = Book("bestfit", TYPICAL)
    book.upsert(
        [
            parse_node(gfd_node("single", 14, "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb", "1")),
            parse_node(gfd_node("sliced", 8, "Tesla-T4-SHARED", "4")),
        ]
    )
    http = TestClient(make_app(book, MemoryBinder()), raise_server_exceptions=False)
    whole = call(http, "filter", {"Pod": pod("w", 1000, 2), "NodeNames": ["single", "sliced"]})
    assert whole["NodeNames"] == ["sliced"]  # two T4s, not eight replicas, and no slice as a GPU
    assert whole["FailedAndUnresolvableNodes"] == {"single": "schedlab: node has no GPU"}
    three = call(http, "filter", {"Pod": pod("w3", 1000, 3), "NodeNames": ["sliced"]})
    assert three["NodeNames"] == []
    one = call(http, "filter", {"Pod": mig_pod("m"), "NodeNames": ["single", "sliced"]})
    assert one["NodeNames"] == ["single"]
    compute = float((book.rows.nodes.num_gpu * book.rows.share).sum())
    assert compute == pytest.approx(2 + 14 / 7)  # the GPUs behind the units: 2 T4s, 2 A100s
    assert bind(http, "m", "single")["Error"] == ""
    assert allocation(book) == pytest.approx((1 / 7) / 4)  # one 1g instance of the 4 GPUs' compute
