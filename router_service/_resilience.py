"""What a stage does when it fails: retries (gRPC's own, from a service config), hedging and a circuit breaker."""

from __future__ import annotations

import collections
import ipaddress
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio

from tutti.channels import ChannelPool
from tutti.config import read_number, unknown_keys

if TYPE_CHECKING:
    from router_service._spec import StageSpec

__all__ = [
    "Circuit",
    "CircuitPolicy",
    "HedgePolicy",
    "RetryPolicy",
    "parse_circuit",
    "parse_endpoint",
    "parse_hedge",
    "parse_retry",
    "service_config",
    "stage_channel",
]

Report = Callable[[str, str], None]
_CODES = {code.name for code in grpc.StatusCode} - {"OK"}
# Codes that count against a stage's circuit: the stage, not the request, is at fault.
FAILURE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's transparent retries for one stage: a failed attempt with one of `codes` is sent again."""

    attempts: int = 3
    backoff_ms: float = 20.0
    max_backoff_ms: float = 500.0
    codes: tuple[str, ...] = ("UNAVAILABLE",)


@dataclass(frozen=True)
class HedgePolicy:
    """For idempotent stages: a second copy goes out when the first has not answered in `delay_ms`."""

    attempts: int = 2
    delay_ms: float = 50.0


@dataclass(frozen=True)
class CircuitPolicy:
    """Open after `failures` in a row, or when `error_rate` of the last `window` calls failed;
    after `open_s`, one probe call decides whether it closes again."""

    failures: int = 5
    error_rate: float = 0.5
    window: int = 20
    open_s: float = 5.0


def service_config(service: str, methods: str | tuple[str, ...], retry: RetryPolicy | None) -> str:
    """The channel's service config: round robin over every address, and the retry policy
    for `methods` (gRPC retries a stream only until its first message has arrived)."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    names = (methods,) if isinstance(methods, str) else methods
    if retry is not None:
        config["methodConfig"] = [
            {
                "name": [{"service": service, "method": method} for method in names],
                "retryPolicy": {
                    "maxAttempts": retry.attempts,
                    "initialBackoff": f"{retry.backoff_ms / 1000.0:.3f}s",
                    "maxBackoff": f"{retry.max_backoff_ms / 1000.0:.3f}s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": list(retry.codes),
                },
            }
        ]
    return json.dumps(config, sort_keys=True)


def stage_channel(channels: ChannelPool, spec: StageSpec) -> aio.Channel:
    """The one channel to a stage's target, with its retry policy: its Describe and its
    Invoke (or a merger's Merge) share it."""
    service, methods = (
        ("tutti.v1.MergerService", ("Merge",))
        if spec.is_merger
        else ("tutti.v1.StageService", ("Invoke", "InvokeStream"))
    )
    return channels.get(spec.endpoint, service_config(service, methods, spec.retry))


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


class Circuit:
    """A circuit breaker for one stage's target. Not thread-safe: one event loop uses it."""

    CLOSED, HALF_OPEN, OPEN = 0, 1, 2
    NAMES = ("closed", "half-open", "open")

    def __init__(self, policy: CircuitPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.state = self.CLOSED
        self.opened_at = 0.0
        self.opened = 0  # how many times it opened
        self._in_a_row = 0
        self._recent: collections.deque[bool] = collections.deque(maxlen=policy.window)
        self._failed = 0  # failures in _recent, kept as it changes
        self._probing = False

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only one probe at a time."""
        if self.state == self.OPEN:
            if self.clock() - self.opened_at < self.policy.open_s:
                return False
            self.state = self.HALF_OPEN
            self._probing = False
        if self.state == self.HALF_OPEN:
            if self._probing:
                return False
            self._probing = True
        return True

    def retry_in_s(self) -> float:
        return max(0.0, self.policy.open_s - (self.clock() - self.opened_at))

    def abandon(self) -> None:
        """A call it let through ended with no verdict (its caller cancelled it)."""
        if self.state == self.HALF_OPEN:
            self._probing = False

    def record(self, ok: bool) -> None:
        if self.state == self.HALF_OPEN:
            self._probing = False
            if ok:
                self.state = self.CLOSED
                self._forget()
            else:
                self._open()
            return
        recent = self._recent
        if len(recent) == self.policy.window and not recent[0]:
            self._failed -= 1  # the oldest outcome is about to drop out
        recent.append(ok)
        if ok:
            self._in_a_row = 0
            return
        self._failed += 1
        self._in_a_row += 1
        full = len(recent) == self.policy.window
        if self._in_a_row >= self.policy.failures or (
            full and self._failed / len(recent) >= self.policy.error_rate
        ):
            self._open()

    def _forget(self) -> None:
        self._in_a_row = 0
        self._failed = 0
        self._recent.clear()

    def _open(self) -> None:
        self.state = self.OPEN
        self.opened_at = self.clock()
        self.opened += 1
        self._forget()
