"""An OTLP/gRPC receiver for tests: services export spans and metrics to it, tests read them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

__all__ = ["OtlpReceiver", "ReceivedMetric", "ReceivedSpan", "otlp_receiver"]

# Upper bound for exports that should arrive within a batch delay; only reached on failure.
WAIT_S = 10.0


def value(any_value: common_pb2.AnyValue) -> Any:
    """The Python value an OTLP AnyValue holds."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return getattr(any_value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    """OTLP KeyValue pairs as a dict."""
    return {pair.key: value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span with the resource of the service that exported it."""

    resource: dict[str, Any]
    scope: str
    span: trace_pb2.Span

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name", ""))

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def kind(self) -> int:
        """A trace_pb2.Span.SpanKind value, e.g. SPAN_KIND_SERVER."""
        return self.span.kind

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_id(self) -> str:
        """The parent's span id in hex; empty for a root span."""
        return self.span.parent_span_id.hex()

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.span.attributes)

    @property
    def status_code(self) -> int:
        """A trace_pb2.Status.StatusCode value, e.g. STATUS_CODE_ERROR."""
        return self.span.status.code


@dataclass(frozen=True)
class ReceivedMetric:
    """One metric (all its data points of one export) with its service's resource."""

    resource: dict[str, Any]
    scope: str
    metric: metrics_pb2.Metric

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name", ""))

    @property
    def name(self) -> str:
        return self.metric.name


class _Store:
    """What arrived, behind one condition so that waiters wake on each export."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.spans: list[ReceivedSpan] = []
        self.metrics: list[ReceivedMetric] = []


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: _Store) -> None:
        self._store = store

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received = [
            ReceivedSpan(_resource(rs.resource), ss.scope.name, span)
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]
        with self._store.changed:
            self._store.spans.extend(received)
            self._store.changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, store: _Store) -> None:
        self._store = store

    def Export(
        self,
        request: metrics_service_pb2.ExportMetricsServiceRequest,
        context: grpc.ServicerContext,
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        received = [
            ReceivedMetric(_resource(rm.resource), sm.scope.name, metric)
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]
        with self._store.changed:
            self._store.metrics.extend(received)
            self._store.changed.notify_all()
        return metrics_service_pb2.ExportMetricsServiceResponse()


def _resource(resource: resource_pb2.Resource) -> dict[str, Any]:
    return attributes(resource.attributes)


class OtlpReceiver:
    """A collector stand-in on 127.0.0.1:0; its grpc server answers from background threads."""

    def __init__(self) -> None:
        self._store = _Store()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            _TraceService(self._store), self._server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _MetricsService(self._store), self._server
        )
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The value for OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def spans(self) -> list[ReceivedSpan]:
        with self._store.changed:
            return list(self._store.spans)

    def metrics(self) -> list[ReceivedMetric]:
        with self._store.changed:
            return list(self._store.metrics)

    def wait_for_spans(
        self,
        count: int = 1,
        where: Callable[[ReceivedSpan], bool] = lambda span: True,
        timeout_s: float = WAIT_S,
    ) -> list[ReceivedSpan]:
        """The spans matching `where` once at least `count` arrived; TimeoutError if they don't."""
        return self._wait(lambda: [s for s in self._store.spans if where(s)], count, timeout_s)

    def wait_for_span(self, name: str, timeout_s: float = WAIT_S) -> ReceivedSpan:
        """The first span called `name`; TimeoutError if none arrives in time."""
        return self.wait_for_spans(1, lambda span: span.name == name, timeout_s)[0]

    def wait_for_metric(self, name: str, timeout_s: float = WAIT_S) -> list[ReceivedMetric]:
        """Every export of the metric called `name` so far, once there is one."""
        return self._wait(lambda: [m for m in self._store.metrics if m.name == name], 1, timeout_s)

    def _wait(self, select: Callable[[], list[Any]], count: int, timeout_s: float) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        with self._store.changed:
            while len(found := select()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(found)} of {count} expected items arrived within {timeout_s:g}s"
                    )
                self._store.changed.wait(remaining)
            return found


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A started OTLP/gRPC receiver; point OTEL_EXPORTER_OTLP_ENDPOINT at `.endpoint`."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()
