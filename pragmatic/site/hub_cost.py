"""What a class costs on a Kubernetes hub, worked out from the pages' measured run times.

The build status page records how long each executed page ran on the machine that built the
site (2 cores, as a student's server). From those times and a few stated assumptions (class
size, how often each page is run, the resources each student is given, a node's size and
price), `sizing` works out the compute a term needs and the nodes a class session needs when
everyone runs the slowest page at once. The prices are the reader's inputs, never facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Assumptions:
    students: int = 300
    runs: int = 3                 # runs of each page per student and term (read, exercises, homework)
    limit: float = 2.0            # cores a student's server may use (the labs' design)
    guarantee: float = 0.5        # cores it is guaranteed (hub/z2jh-config.yaml)
    memory_gb: float = 2.0        # memory it is guaranteed
    node_cores: int = 16
    node_memory_gb: float = 64.0
    node_price: float = 0.80      # per node-hour, in the reader's money: an input, not a quote

    def __post_init__(self):
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"hub-cost: {name} must be positive, got {value!r}")
        if self.guarantee > self.limit:
            raise ValueError(f"hub-cost: guarantee {self.guarantee} exceeds limit {self.limit}")


def sizing(runtimes: dict[str, float], a: Assumptions) -> dict:
    """Term compute and class-session nodes from page run times (seconds, at `a.limit` cores)."""
    if not runtimes:
        raise ValueError("hub-cost: no page has a measured run time")
    one_pass = sum(runtimes.values())                       # seconds, every page once
    core_hours = a.students * a.runs * one_pass * a.limit / 3600
    node_hours = core_hours / a.node_cores
    per_node = min(math.floor(a.node_cores / a.guarantee),  # users a node holds at their guarantee
                   math.floor(a.node_memory_gb / a.memory_gb))
    nodes = math.ceil(a.students / per_node)
    slowest, slowest_time = max(runtimes.items(), key=lambda item: item[1])
    cost = node_hours * a.node_price
    return {"one_pass_s": one_pass, "core_hours": core_hours, "node_hours": node_hours,
            "term_cost": cost, "per_student_cost": cost / a.students, "users_per_node": per_node, "session_nodes": nodes,
            "session_cost_per_hour": nodes * a.node_price, "slowest": slowest,
            "slowest_s": slowest_time,
            # every student at the guarantee instead of the limit: the slowest page's worst case
            "slowest_worst_s": slowest_time * a.limit / a.guarantee}
