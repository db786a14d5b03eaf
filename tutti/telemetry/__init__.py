"""OpenTelemetry for every service: set-up from the standard OTEL_* variables, and RPC spans.

Nothing is exported unless the variables ask for it, and then an endpoint
that stops answering is logged once, not per batch (`_export`). Every call
a service serves or makes is one span on each side of the hop, the caller's
context travelling as W3C traceparent (`_rpc`).
"""

from __future__ import annotations

from tutti.telemetry._rpc import (
    CallSpans,
    end_call_span,
    traced_stream,
    traced_unary,
)
from tutti.telemetry._setup import Telemetry, setup_telemetry, tracing_enabled

__all__ = [
    "CallSpans",
    "Telemetry",
    "end_call_span",
    "setup_telemetry",
    "traced_stream",
    "traced_unary",
    "tracing_enabled",
]
