"""setup_telemetry: tracer and meter providers from the standard OTEL_* variables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry import metrics, trace

from tutti.errors import ConfigError, Problem
from tutti.telemetry._export import (
    console_metric_exporter,
    console_span_exporter,
    quiet_metrics,
    quiet_spans,
)

# The SDK loads only when something is exported: a
# service with nothing configured keeps the API's no-ops and starts faster.
if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["Telemetry", "setup_telemetry", "tracing_enabled"]

EXPORTERS = ("otlp", "console", "none")


class Telemetry:
    """The tracer and meter providers one service installed; shut down last on stop."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self._shut_down = False

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None or self.meter_provider is not None

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporters; the last step of a service's stop."""
        if self._shut_down:
            return
        self._shut_down = True
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def setup_telemetry(service_name: str) -> Telemetry:
    """Install tracer and meter providers as the OTEL_* variables ask; none if nothing is set.

    A signal is exported when its `OTEL_<SIGNAL>_EXPORTER` names `otlp` or
    `console`, or, left unset, when an OTLP endpoint is configured for it.
    `OTEL_SDK_DISABLED=true` turns everything off. `service_name` applies
    unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names the service.
    Sampling (`OTEL_TRACES_SAMPLER`), batching (`OTEL_BSP_*`), the export
    interval (`OTEL_METRIC_EXPORT_INTERVAL`) and the OTLP connection
    (`OTEL_EXPORTER_OTLP_*`) are read by the SDK itself.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Telemetry()
    span_exporters = _span_exporters(_exporter_names("TRACES"))
    metric_exporters = _metric_exporters(_exporter_names("METRICS"))
    if not span_exporters and not metric_exporters:
        return Telemetry()
    resource = _resource(service_name)
    tracer_provider = None
    if span_exporters:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider = TracerProvider(resource=resource)
        for span_exporter in span_exporters:
            tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
        trace.set_tracer_provider(tracer_provider)
    meter_provider = None
    if metric_exporters:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

        readers: list[MetricReader] = [
            PeriodicExportingMetricReader(exporter) for exporter in metric_exporters
        ]
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        metrics.set_meter_provider(meter_provider)
    return Telemetry(tracer_provider, meter_provider)


def tracing_enabled() -> bool:
    """Whether a tracer provider is installed in this process, by setup_telemetry or a test."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _exporter_names(signal: str) -> list[str]:
    variable = f"OTEL_{signal}_EXPORTER"
    value = os.environ.get(variable, "").strip().lower()
    if not value:
        # Left unset, the standard default is otlp; exporting to a collector
        # nobody configured would only log connection errors, so ask for an endpoint.
        endpoint = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        names = ["otlp"] if endpoint else []
    else:
        names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        if name not in EXPORTERS:
            known = ", ".join(EXPORTERS)
            message = f"{variable}: unknown exporter '{name}'; use one of {known}"
            raise ConfigError(Problem("<environment>", 0, message))
    chosen = [name for name in dict.fromkeys(names) if name != "none"]
    if "otlp" in chosen:
        _check_protocol(signal)
    return chosen


def _check_protocol(signal: str) -> None:
    """Refuse an OTLP protocol other than gRPC, the only one installed, rather than fail quietly."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = os.environ.get(variable, "").strip().lower()
        if protocol:
            if protocol != "grpc":
                message = f"{variable}: '{protocol}' is not supported; Tutti exports OTLP over grpc"
                raise ConfigError(Problem("<environment>", 0, message))
            return


def _span_exporters(names: Sequence[str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from tutti.telemetry._otlp_spans import WireSpanExporter

            exporters.append(quiet_spans(WireSpanExporter()))
        else:
            exporters.append(console_span_exporter())
    return exporters


def _metric_exporters(names: Sequence[str]) -> list[MetricExporter]:
    exporters: list[MetricExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )

            exporters.append(quiet_metrics(OTLPMetricExporter()))
        else:
            exporters.append(console_metric_exporter())
    return exporters


def _resource(service_name: str) -> Resource:
    """OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, with `service_name` when they name none."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    return resource
