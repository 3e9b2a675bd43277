"""The cluster model: node state in numpy arrays, task shapes, feasibility and fragmentation."""

from schedlab.cluster.fragmentation import Fragmentation, TypicalTasks
from schedlab.cluster.shapes import Shape, ShapeArrays, ShapeTable
from schedlab.cluster.state import CapacityError, ClusterState
from schedlab.cluster.view import ClusterView

__all__ = [
    "CapacityError",
    "ClusterState",
    "ClusterView",
    "Fragmentation",
    "Shape",
    "ShapeArrays",
    "ShapeTable",
    "TypicalTasks",
]
