"""Compositions: reading the YAML, parsing its stages and policies, compiling it into a plan."""

from __future__ import annotations

from router_service.composition._compiler import BUILDERS, NODE_KINDS, compile_composition
from router_service.composition._context import MAX_DEPTH, Builder, Compiler
from router_service.composition._fanout import MAX_FANOUT_WIDTH, STRATEGIES
from router_service.composition._policies import (
    parse_circuit,
    parse_endpoint,
    parse_hedge,
    parse_retry,
)
from router_service.composition._read import TOP_KEYS, Draft, read_composition
from router_service.composition._stages import (
    apply_endpoints,
    parse_budget,
    parse_cache_backend,
    parse_stage,
)
from tutti.messages import CLASSIFICATION

__all__ = [
    "apply_endpoints",
    "BUILDERS",
    "CLASSIFICATION",
    "MAX_DEPTH",
    "MAX_FANOUT_WIDTH",
    "NODE_KINDS",
    "STRATEGIES",
    "TOP_KEYS",
    "Builder",
    "Compiler",
    "Draft",
    "compile_composition",
    "parse_budget",
    "parse_cache_backend",
    "parse_circuit",
    "parse_endpoint",
    "parse_hedge",
    "parse_retry",
    "parse_stage",
    "read_composition",
]
