"""crustlab: drive real crust-node processes from Python (tests, demo, scenarios)."""
from .node import Node, NodeError, Swarm, TimeoutWaiting  # noqa: F401
