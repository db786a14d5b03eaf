"""OpenTelemetry set-up from the standard OTEL_* variables; nothing is exported unless asked."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["setup_tracing", "shutdown_tracing"]


def setup_tracing(service_name: str) -> TracerProvider | None:
    """Install a tracer provider exporting over OTLP when OTEL_EXPORTER_OTLP_* is set.

    With nothing configured the API's no-op tracer stays in place, so spans
    cost next to nothing.
    """
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter,
    )

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Flush what is buffered; the last step of a service's stop."""
    if provider is not None:
        provider.shutdown()
