"""Parsing a stage's endpoint and failure policies (retry, hedge, circuit) from the YAML."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from router_service.plan import CircuitPolicy, HedgePolicy, RetryPolicy
from tutti.config import read_number, unknown_keys

__all__ = ["Report", "parse_circuit", "parse_endpoint", "parse_hedge", "parse_retry"]

Report = Callable[[str, str], None]
_CODES = {code.name for code in grpc.StatusCode} - {"OK"}


def parse_endpoint(raw: Any, report: Report) -> str:
    """A gRPC target: `host:port`, `dns:///name:port`, or a list of IP:port replicas."""
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(raw, list) and raw:
        addresses = []
        for item in raw:
            host, _, port = str(item).rpartition(":")
            try:
                ip = ipaddress.ip_address(host.strip("[]"))
                ok = port.isdigit() and 0 < int(port) < 65536
            except ValueError:
                ok = False
            if not ok:
                report(
                    "endpoint",
                    f"replica {item!r} is not IP:port; a list of endpoints takes addresses,"
                    " use dns:///name:port to balance over a name",
                )
                return ""
            addresses.append((ip.version, f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"))
        versions = {v for v, _ in addresses}
        if len(versions) > 1:
            report("endpoint", "replicas must be all IPv4 or all IPv6")
            return ""
        scheme = "ipv6" if versions == {6} else "ipv4"
        return f"{scheme}:{','.join(a for _, a in addresses)}"
    report("endpoint", "missing 'endpoint' (host:port, dns:///name:port, or a list of IP:port)")
    return ""


def _mapping(data: Mapping[str, Any], key: str, report: Report, example: str) -> Any:
    raw = data.get(key)
    if raw is False:
        return False
    if raw is None or raw is True:
        return {}
    if not isinstance(raw, Mapping):
        report(key, f"'{key}' must be a mapping such as {example}, or false")
        return None
    return raw


def parse_retry(data: Mapping[str, Any], report: Report) -> RetryPolicy | None:
    raw = _mapping(data, "retry", report, "{attempts: 3, codes: [UNAVAILABLE]}")
    if raw is False:
        return None
    if raw is None:
        return RetryPolicy()
    for key in unknown_keys(raw, ("attempts", "backoff_ms", "max_backoff_ms", "codes")):
        report(
            "retry",
            f"unknown retry key '{key}' (allowed: attempts, backoff_ms, max_backoff_ms, codes)",
        )
    attempts = read_number(raw, "attempts", report, minimum=2.0)
    if attempts is not None and attempts > 5:
        report("retry", "retry 'attempts' is at most 5 (gRPC's own limit)")
        attempts = 5
    backoff = read_number(raw, "backoff_ms", report, minimum=0.0, exclusive=True)
    max_backoff = read_number(raw, "max_backoff_ms", report, minimum=0.0, exclusive=True)
    codes = raw.get("codes", list(RetryPolicy.codes))
    if not isinstance(codes, list) or not codes or not all(c in _CODES for c in codes):
        report(
            "retry",
            f"retry 'codes' must be a list of gRPC status names such as [UNAVAILABLE], not {codes!r}",
        )
        codes = list(RetryPolicy.codes)
    return RetryPolicy(
        attempts=int(attempts or RetryPolicy.attempts),
        backoff_ms=backoff or RetryPolicy.backoff_ms,
        max_backoff_ms=max_backoff or RetryPolicy.max_backoff_ms,
        codes=tuple(str(c) for c in codes),
    )


def parse_hedge(data: Mapping[str, Any], report: Report) -> HedgePolicy | None:
    if "hedge" not in data or data["hedge"] is False:
        return None
    raw = _mapping(data, "hedge", report, "{attempts: 2, delay_ms: 50}")
    if not isinstance(raw, Mapping):
        return None
    for key in unknown_keys(raw, ("attempts", "delay_ms")):
        report("hedge", f"unknown hedge key '{key}' (allowed: attempts, delay_ms)")
    attempts = read_number(raw, "attempts", report, minimum=2.0)
    if attempts is not None and attempts > 5:
        report("hedge", "hedge 'attempts' is at most 5")
        attempts = 5
    delay = read_number(raw, "delay_ms", report, minimum=0.0)
    if data.get("idempotent") is not True:
        report(
            "hedge", "'hedge' sends the same call twice: mark the stage 'idempotent: true' first"
        )
    return HedgePolicy(
        attempts=int(attempts or HedgePolicy.attempts),
        delay_ms=delay if delay is not None else HedgePolicy.delay_ms,
    )


def parse_circuit(data: Mapping[str, Any], report: Report) -> CircuitPolicy | None:
    raw = _mapping(data, "circuit", report, "{failures: 5, open_s: 5}")
    if raw is False:
        return None
    if raw is None:
        return CircuitPolicy()
    for key in unknown_keys(raw, ("failures", "error_rate", "window", "open_s")):
        report(
            "circuit",
            f"unknown circuit key '{key}' (allowed: failures, error_rate, window, open_s)",
        )
    failures = read_number(raw, "failures", report, minimum=1.0)
    rate = read_number(raw, "error_rate", report, minimum=0.0, exclusive=True)
    if rate is not None and rate > 1.0:
        report("circuit", f"circuit 'error_rate' is a share in (0, 1], not {rate:g}")
        rate = None
    window = read_number(raw, "window", report, minimum=1.0)
    open_s = read_number(raw, "open_s", report, minimum=0.0, exclusive=True)
    return CircuitPolicy(
        failures=int(failures or CircuitPolicy.failures),
        error_rate=rate or CircuitPolicy.error_rate,
        window=int(window or CircuitPolicy.window),
        open_s=open_s or CircuitPolicy.open_s,
    )
