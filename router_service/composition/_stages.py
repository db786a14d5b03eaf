"""A composition file's stages, budget and cache backend; the stages pointed at given endpoints."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from router_service.composition._policies import (
    parse_circuit,
    parse_endpoint,
    parse_hedge,
    parse_retry,
)
from router_service.plan import Budget, CacheBackend, CachePolicy, StageSpec
from tutti.config import Price, Problems, read_number, unknown_keys
from tutti.errors import Problem
from tutti.located_yaml import line_of

__all__ = ["apply_endpoints", "parse_budget", "parse_cache_backend", "parse_stage"]

STAGE_KEYS = (
    "endpoint",
    "kind",
    "input",
    "output",
    "budget_ms",
    "price",
    "cache",
    "validate",
    "serve",
    "description",
    "retry",
    "hedge",
    "idempotent",
    "circuit",
)
STAGE_KINDS = ("model", "merger")


def _type_name(data: Mapping[str, Any], key: str, report: Any) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        report(key, f"'{key}' must be a full message type name such as tutti.v1.Text")
        return ""
    return value.strip()


def parse_stage(name: str, data: Any, line: int, reporter: Problems) -> StageSpec | None:
    if not isinstance(data, Mapping):
        reporter.at_line(
            line, "a stage must be a mapping with at least an endpoint or a serve: block", name
        )
        return None
    report = reporter.located(data, name)
    for key in unknown_keys(data, STAGE_KEYS):
        report(key, f"unknown key '{key}' (allowed: {', '.join(STAGE_KEYS)})")
    if "endpoint" in data:
        endpoint = parse_endpoint(data["endpoint"], report)
    elif data.get("serve") is None and data.get("kind") != "merger":
        reporter.at_line(
            line_of(data, line),
            "missing 'endpoint' (host:port, dns:///name:port, or a list of IP:port),"
            " or a 'serve:' block for `tutti up` to start the stage from",
            name,
        )
        endpoint = ""
    else:
        # `tutti up` starts it and tells the router where; a router alone needs --endpoint.
        endpoint = ""
    idempotent = data.get("idempotent", False)
    if not isinstance(idempotent, bool):
        report("idempotent", "'idempotent' must be true or false")
        idempotent = False
    retry = parse_retry(data, report)
    hedge = parse_hedge(data, report)
    if hedge is not None and "retry" in data and data["retry"] is not False:
        report("hedge", "a stage has either 'retry' or 'hedge', not both")
    kind = data.get("kind", "model")
    if kind not in STAGE_KINDS:
        report("kind", f"'kind' must be one of {', '.join(STAGE_KINDS)}, not {kind!r}")
        kind = "model"
    price = None
    if "price" in data:
        if isinstance(data["price"], Mapping):
            price = Price.from_mapping(data["price"], reporter.located(data["price"], name))
        else:
            report("price", "'price' must be a mapping such as {per_call_usd: 0.002}")
    cache = None
    if "cache" in data:
        raw = data["cache"]
        if isinstance(raw, Mapping):
            cache_report = reporter.located(raw, name)
            for key in unknown_keys(raw, ("ttl_s", "max_entries")):
                cache_report(key, f"unknown cache key '{key}'")
            ttl = read_number(raw, "ttl_s", cache_report, minimum=0.0, exclusive=True)
            entries = read_number(raw, "max_entries", cache_report, minimum=1.0)
            cache = CachePolicy(
                ttl_s=ttl if ttl is not None else CachePolicy.ttl_s,
                max_entries=int(entries) if entries is not None else CachePolicy.max_entries,
            )
        elif raw not in (None, False):
            report("cache", "'cache' must be a mapping such as {ttl_s: 600}")
    validate = data.get("validate", True)
    if not isinstance(validate, bool):
        report("validate", "'validate' must be true or false")
        validate = True
    serve = data.get("serve")
    if serve is not None and not isinstance(serve, Mapping):
        report("serve", "'serve' must be a specialist configuration mapping")
        serve = None
    budget = read_number(data, "budget_ms", report, minimum=0.0, exclusive=True)
    return StageSpec(
        name=name,
        endpoint=endpoint,
        line=line,
        kind=kind,
        input=_type_name(data, "input", report),
        output=_type_name(data, "output", report),
        budget_ms=budget or 0.0,
        price=price,
        cache=cache,
        validate=validate,
        serve=serve,
        retry=None if hedge is not None else retry,
        hedge=hedge,
        idempotent=idempotent,
        circuit=parse_circuit(data, report),
    )


def apply_endpoints(
    source: str,
    stages: Mapping[str, StageSpec],
    endpoints: Mapping[str, str],
    problems: Sequence[Problem] = (),
) -> tuple[dict[str, StageSpec], list[Problem]]:
    """The stages with `endpoints` (stage name -> address) in place of those the file declares,
    and a problem for each stage left with none to call.

    Only a stage that `tutti up` starts (one with a `serve:` block, or a merger) may leave out
    its endpoint, and a router started on its own must be told where it is. A stage that
    already has a problem in `problems` is not reported again.
    """
    stages = {
        name: replace(spec, endpoint=endpoints.get(name, spec.endpoint))
        for name, spec in stages.items()
    }
    reported = {p.stage for p in problems}
    missing = [
        Problem(
            source,
            spec.line,
            f"no endpoint to call: pass --endpoint {name}=HOST:PORT to the router, or add"
            f" 'endpoint: HOST:PORT' to the stage (`tutti up` starts "
            + ("the merger" if spec.is_merger else "it from its serve: block")
            + " and points the router at it)",
            name,
        )
        for name, spec in stages.items()
        if not spec.endpoint and name not in reported
    ]
    return stages, missing


def parse_budget(data: Any, line: int, reporter: Problems) -> Budget:
    if data is None:
        return Budget()
    if not isinstance(data, Mapping):
        reporter.at_line(
            line, "'budget' must be a mapping such as {latency_ms: 800, cost_usd: 0.08}"
        )
        return Budget()
    report = reporter.located(data)
    for key in unknown_keys(data, ("latency_ms", "cost_usd")):
        report(key, f"unknown budget key '{key}' (allowed: latency_ms, cost_usd)")
    return Budget(
        latency_ms=read_number(data, "latency_ms", report, minimum=0.0, exclusive=True),
        cost_usd=read_number(data, "cost_usd", report, minimum=0.0),
    )


def parse_cache_backend(data: Any, line: int, reporter: Problems) -> CacheBackend:
    if data is None:
        return CacheBackend()
    if not isinstance(data, Mapping):
        reporter.at_line(
            line, "'cache' must be a mapping such as {backend: redis, url: redis://...}"
        )
        return CacheBackend()
    report = reporter.located(data)
    for key in unknown_keys(data, ("backend", "url")):
        report(key, f"unknown cache key '{key}' (allowed: backend, url)")
    backend = data.get("backend", "memory")
    if backend not in ("memory", "redis"):
        report("backend", f"cache backend must be memory or redis, not {backend!r}")
        return CacheBackend()
    url = data.get("url", "")
    if backend == "redis" and not (
        isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://"))
    ):
        report("url", "a redis cache needs 'url' such as redis://127.0.0.1:6379/0")
        return CacheBackend()
    if backend == "redis" and importlib.util.find_spec("redis") is None:
        # The base install leaves the client out: only routers that share a cache need it.
        report("backend", "the redis cache needs the redis client: pip install 'tutti[redis]'")
        return CacheBackend()
    return CacheBackend(backend=str(backend), url=str(url))
