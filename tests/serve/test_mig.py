"""The extender and MIG (the GPU operator's mixed strategy): nodes advertise
``nvidia.com/mig-<profile>`` instances beside their whole GPUs, pods ask for instances of one
profile; filter, prioritize, bind, preempt, restarts and metrics book them apart from the
whole GPUs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.eviction.victims import VICTIM_POLICIES
from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.informer import Informer
from schedlab.serve.instances import node_specs
from schedlab.serve.kube import KubeBinder
from schedlab.serve.metrics import allocation
from schedlab.serve.objects import BadRequest, parse_node, parse_pod
from schedlab.serve.preempt import choose
from schedlab.trace import load_nodes, load_tasks
from tests.serve.test_extender import TYPICAL, MemoryBinder, node, pod

ONE = "nvidia.com/mig-1g.10gb"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def mig_pod(name: str, count: int = 1, resource: str = ONE, priority: int = 0) -> dict[str, Any]:
    limits = {"cpu": "1", "memory": "1Gi", resource: str(count)}
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "spec": {"priority": priority, "containers": [{"name": "main", "resources": {"limits": limits}}]},
    }


def mig_node(
    name: str, whole: int, instances: dict[str, int], product: str = "A100-SXM4-80GB"
) -> dict[str, Any]:
    capacity = {"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": str(whole)}
    capacity.update({f"nvidia.com/mig-{p}": str(n) for p, n in instances.items()})
    return {
        "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": product}},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def cluster(policy: str = "fgd") -> tuple[TestClient, Book]:
    """``a``: 4 whole GPUs and 14 1g instances; ``b``: 7 1g instances; ``c``: 4 whole T4s."""
    book = Book(policy, TYPICAL)
    book.upsert(
        [
            parse_node(mig_node("a", 4, {"1g.10gb": 14})),
            parse_node(mig_node("b", 0, {"1g.10gb": 7, "3g.40gb": 0})),
            parse_node(node("c", 4, "T4")),
        ]
    )
    return TestClient(make_app(book, MemoryBinder()), raise_server_exceptions=False), book


def call(http: TestClient, verb: str, body: dict[str, Any]) -> Any:
    reply = http.post(f"/scheduler/{verb}", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def bind(http: TestClient, name: str, where: str) -> Any:
    body = {"PodName": name, "PodNamespace": "default", "PodUID": f"uid-{name}", "Node": where}
    return call(http, "bind", body)


def test_pods_and_nodes_name_instances_as_the_gpu_operator_does() -> None:
    p = parse_pod(mig_pod("p", 2))
    assert (p.mig, p.num_gpu, p.gpu_milli, p.resource) == ("1g.10gb", 2, 1000, ONE)
    n = parse_node(mig_node("a", 4, {"1g.10gb": 14, "3g.40gb": 2, "2g.20gb": 0}))
    assert (n.num_gpu, n.model, n.mig) == (4, "A100-SXM4-80GB", (("1g.10gb", 14), ("3g.40gb", 2)))
    assert parse_node(mig_node("b", 0, {"1g.10gb": 7})).model == "A100-SXM4-80GB"
    two = mig_pod("two")
    two["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/mig-2g.20gb"] = "1"
    with pytest.raises(BadRequest, match=r"2 MIG profiles \(nvidia\.com/mig-1g\.10gb, nvidia\.com/mig-2g"):
        parse_pod(two)
    both = pod("both")
    both["spec"]["containers"][0]["resources"]["requests"][ONE] = "1"
    with pytest.raises(BadRequest, match=r"asks for nvidia\.com/mig-1g\.10gb and for alibabacloud"):
        parse_pod(both)


def test_filter_sends_instance_pods_to_their_profile_and_gpu_pods_to_whole_gpus() -> None:
    http, _ = cluster()
    names = ["a", "b", "c", "d"]
    one = call(http, "filter", {"Pod": mig_pod("p"), "NodeNames": names})
    assert one["NodeNames"] == ["a", "b"] and one["FailedNodes"] == {}
    assert one["FailedAndUnresolvableNodes"] == {
        "c": f"schedlab: node has no {ONE}",
        "d": "schedlab: unknown node (give the service --kubeconfig to learn nodes)",
    }
    eight = call(http, "filter", {"Pod": mig_pod("q", 8), "NodeNames": names[:3]})
    assert eight["NodeNames"] == ["a"]
    assert eight["FailedAndUnresolvableNodes"]["b"] == f"schedlab: pod wants 8 {ONE}, more than the node has"
    three = call(http, "filter", {"Pod": mig_pod("r", 1, "nvidia.com/mig-3g.40gb"), "NodeNames": names[:3]})
    assert three["NodeNames"] == []  # b advertises 3g.40gb with no instance: none
    whole = call(http, "filter", {"Pod": pod("w", 1000, 4), "NodeNames": names[:3]})
    assert whole["NodeNames"] == ["a", "c"]
    assert whole["FailedAndUnresolvableNodes"] == {"b": "schedlab: node has no GPU"}


def test_bind_takes_instances_and_leaves_the_whole_gpus_alone() -> None:
    http, book = cluster()
    for k in range(7):
        assert bind_after_filter(http, f"p{k}", "b") == {"Error": ""}
    full = call(http, "filter", {"Pod": mig_pod("p7"), "NodeNames": ["a", "b"]})
    assert full["NodeNames"] == ["a"] and full["FailedNodes"] == {"b": f"schedlab: no 1 {ONE} free"}
    assert bind(http, "p7", "c") == {"Error": f"schedlab: node c has no {ONE}"}
    for k in range(7, 21):
        assert bind_after_filter(http, f"p{k}", "a") == {"Error": ""}
    assert call(http, "filter", {"Pod": pod("w", 1000, 4), "NodeNames": ["a"]})["NodeNames"] == ["a"]
    assert allocation(book) == pytest.approx(3 * 1.0 / (3 + 4 + 4))  # 21 of 3 GPUs' instances
    book.release("uid-p0")
    assert call(http, "filter", {"Pod": mig_pod("p21"), "NodeNames": ["b"]})["NodeNames"] == ["b"]


def bind_after_filter(http: TestClient, name: str, where: str) -> Any:
    call(http, "filter", {"Pod": mig_pod(name), "NodeNames": [where]})
    return bind(http, name, where)


@pytest.mark.parametrize("compiled", [False, True])
def test_prioritize_packs_instances_with_best_fit(compiled: bool) -> None:
    book = cluster("bestfit")[1]
    http = TestClient(make_app(book, MemoryBinder(), compiled=compiled), raise_server_exceptions=False)
    scores = call(http, "prioritize", {"Pod": mig_pod("p"), "NodeNames": ["a", "b", "c"]})
    assert [s["Score"] for s in scores][2] == 0
    assert bind(http, "p", "a") == {"Error": ""}
    for k in range(5):
        bind_after_filter(http, f"b{k}", "b")
    scores = call(http, "prioritize", {"Pod": mig_pod("q"), "NodeNames": ["a", "b", "c"]})
    assert scores == [{"Host": "a", "Score": 0}, {"Host": "b", "Score": 10}, {"Host": "c", "Score": 0}]


def test_the_compiled_path_answers_instance_pods_as_the_plain_one() -> None:
    answers = []
    for compiled in (False, True):
        book = cluster()[1]
        http = TestClient(make_app(book, MemoryBinder(), compiled=compiled), raise_server_exceptions=False)
        body = {"Pod": mig_pod("p", 3), "Nodes": None, "NodeNames": ["a", "b", "c", "x"]}
        answers.append([call(http, verb, body) for verb in ("filter", "prioritize")])
    assert answers[0] == answers[1]


class Writes:
    """An API client that keeps what the binder writes."""

    def __init__(self) -> None:
        self.patches: list[Any] = []
        self.bindings: list[Any] = []

    def patch_namespaced_pod(self, name: str, namespace: str, patch: Any, **_: Any) -> None:
        self.patches.append(patch)

    def create_namespaced_pod_binding(self, name: str, namespace: str, body: Any, **_: Any) -> None:
        self.bindings.append(body["target"]["name"])


def test_a_restart_books_every_bound_instance_pod_from_its_node_alone() -> None:
    """The binder writes no GPU indices for instances (the device plugin picks them); a new
    book learns every bound pod asking for instances, by any binder."""
    writes = Writes()
    KubeBinder(writes).bind(parse_pod(mig_pod("p", 2)), "b", (0, 1))
    assert writes.patches == [] and writes.bindings == ["b"]
    book = cluster()[1]
    informer = Informer(book, source=None)  # type: ignore[arg-type]
    running = [{**mig_pod(f"p{k}", 2), "status": {"phase": "Running"}} for k in range(3)]
    for k, obj in enumerate(running):
        obj["spec"]["nodeName"] = "b"
        assert informer.observe_pod("ADDED", obj) == f"uid-p{k}"
    row = book.rows.row("b", parse_pod(mig_pod("x")))
    assert (book.cluster.gpu_free[row, :7] == 0).sum() == 6
    assert informer.observe_pod("MODIFIED", running[0]) == "uid-p0"  # seen again: no change
    assert (book.cluster.gpu_free[row, :7] == 0).sum() == 6
    informer.observe_pod("MODIFIED", {**running[1], "status": {"phase": "Succeeded"}})
    assert sorted(book.held) == ["uid-p0", "uid-p2"]
    assert (book.cluster.gpu_free[row, :7] == 0).sum() == 4
    book.upsert([parse_node(node("d", 2, "T4"))])  # a rebuild keeps what is held
    assert (book.cluster.gpu_free[book.rows.row("b", parse_pod(mig_pod("x"))), :7] == 0).sum() == 4


def test_preempt_frees_instances_of_the_profile_from_lower_priority_pods() -> None:
    book = cluster()[1]
    now = time.time()
    for k in range(7):
        book.learn(parse_pod(mig_pod(f"low{k}")), "b", (), now - 100 * (k + 1))
    urgent = parse_pod(mig_pod("urgent", 1, priority=1000))
    victims = VICTIM_POLICIES.get("least-lost")()
    assert choose(book, urgent, ["b", "c"], victims, now) == ("b", ["uid-low0"])  # the youngest
    assert choose(book, parse_pod(mig_pod("same", 1, priority=0)), ["b"], victims, now) is None
    assert choose(book, urgent, ["a", "b"], victims, now) == ("a", [])  # a has free instances


def test_serve_nodes_reads_the_node_lists_mig_column() -> None:
    specs = {s.name: s for s in node_specs(load_nodes(EXAMPLES / "mig" / "column-nodes.csv"))}
    assert specs["whole-00"].num_gpu == 8 and specs["whole-00"].mig == ()
    mig = specs["mig-00"]
    assert mig.num_gpu == 0 and mig.mig == (("1g.10gb", 16), ("2g.20gb", 8), ("3g.40gb", 8))
    book = Book("fgd", TYPICAL)
    book.upsert(list(specs.values()))
    rows = book.rows.nodes
    assert len(rows) == 32 + 16 * 3  # a row per node, and per partitioned node one per profile
    compute = float((rows.num_gpu * book.rows.share).sum())
    assert compute == pytest.approx(16 * 8 + 16 * 8 * (3 + 2 + 1 + 1) / 7)  # every GPU, whole


def test_fgd_ranks_instances_by_a_mix_that_names_profiles(tmp_path: Path, caplog: Any) -> None:
    """With typical tasks of two 1g instances, a node left with one free instance holds a
    fragment: FGD fills it (b) where the openb mix, naming no profile, ranks both alike (a,
    first by name) and says so once."""
    mix = tmp_path / "pods.csv"
    mix.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\nt,1000,1024,2,1000,mig-1g.10gb\n")
    chosen = []
    for typical in (load_tasks(mix), TYPICAL):
        book = Book("fgd", typical)
        book.upsert(
            [parse_node(mig_node("a", 0, {"1g.10gb": 14})), parse_node(mig_node("b", 0, {"1g.10gb": 7}))]
        )
        http = TestClient(make_app(book, MemoryBinder()), raise_server_exceptions=False)
        for k in range(6):
            assert bind_after_filter(http, f"p{k}", "b") == {"Error": ""}
        scores = call(http, "prioritize", {"Pod": mig_pod("q"), "NodeNames": ["a", "b"]})
        chosen.append(max(scores, key=lambda s: s["Score"])["Host"])
    assert chosen == ["b", "a"]
    assert [r.message for r in caplog.records].count(
        "the typical task mix (--pods) names no MIG profile: FGD's measure counts every free MIG"
        " instance as a fragment (give a mix whose gpu_spec names them: mig-1g.10gb)"
    ) == 1


def test_instance_pods_learned_before_their_node_hold_instances_once_it_is_known() -> None:
    book = Book("fgd", TYPICAL)
    for k in range(3):
        book.learn(parse_pod(mig_pod(f"p{k}", 2)), "z", ())
    book.upsert([parse_node(mig_node("z", 0, {"1g.10gb": 7}))])
    row = book.rows.row("z", parse_pod(mig_pod("x")))
    assert (book.cluster.gpu_free[row, :7] == 0).sum() == 6
    book.upsert([parse_node(mig_node("z", 0, {"1g.10gb": 4}))])  # re-partitioned: fewer instances
    free = book.cluster.gpu_free[book.rows.row("z", parse_pod(mig_pod("x")))]
    assert (free == 0).sum() >= 4 and (free >= 0).all() and (free[:4] == 0).all()
    book.release("uid-p0")
    book.release("uid-p1")
    book.release("uid-p2")
    assert (book.cluster.gpu_free[book.rows.row("z", parse_pod(mig_pod("x"))), :4] == 1000).all()


def test_the_example_pod_asks_for_two_instances_of_its_model() -> None:
    import yaml

    doc = yaml.safe_load((EXAMPLES / "kubernetes" / "mig-pod.yaml").read_text())
    p = parse_pod(doc)
    assert (p.mig, p.num_gpu, p.gpu_spec, p.cpu_milli, p.memory_mib) == (
        "1g.10gb",
        2,
        "A100-SXM4-80GB",
        4000,
        16384,
    )
    http, _ = cluster()
    answer = call(http, "filter", {"Pod": doc, "NodeNames": ["a", "b", "c"]})
    assert answer["NodeNames"] == ["a", "b"]  # both have 1g.10gb instances of an A100-SXM4-80GB
