"""crustlab: drive real crust-node processes from Python (tests, demo, scenarios)."""
# The project's version (CMakeLists.txt's; tools.help checks that they agree).
__version__ = "0.1.0"

from .node import Node, NodeError, Swarm, TimeoutWaiting  # noqa: F401
