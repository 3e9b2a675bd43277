"""The cluster model: node state in numpy arrays, task shapes, and fragmentation."""

from schedlab.cluster.fragmentation import Fragmentation, TypicalTasks
from schedlab.cluster.shapes import Shape, ShapeTable
from schedlab.cluster.state import CapacityError, ClusterState

__all__ = ["CapacityError", "ClusterState", "Fragmentation", "Shape", "ShapeTable", "TypicalTasks"]
