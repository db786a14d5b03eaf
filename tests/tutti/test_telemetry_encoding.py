"""Tutti's OTLP span encoding gives the very request the SDK's encoder gives, for every kind of span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)

from tutti.telemetry._otlp_spans import _span, encode_request


@pytest.fixture
def finished() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A provider of its own (not the global one), recording into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "tutti-test", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    tracer = provider.get_tracer("tutti.rpc")
    other = provider.get_tracer("tutti.router", "1.2", schema_url="https://example.org/s")
    remote = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1")]),
    )
    with tracer.start_as_current_span(
        "/tutti.v1.RouterService/Route",
        trace.set_span_in_context(NonRecordingSpan(remote)),
        SpanKind.SERVER,
        {"rpc.system": "grpc", "rpc.grpc.status_code": 0},
    ):
        with other.start_as_current_span("stage triage") as stage:
            stage.set_attributes(
                {
                    "tutti.budget_ms": 20,
                    "tutti.elapsed_ms": 3.25,
                    "tutti.over_budget": False,
                    "tutti.cache_hit": True,
                    "tutti.negative": -7,
                    "gen_ai.request.model": "triage-v1 ✓",
                    "tutti.cost_usd": 0.0,
                }
            )
            client = tracer.start_span("/tutti.v1.StageService/Invoke", kind=SpanKind.CLIENT)
            client.set_status(trace.StatusCode.ERROR, "UNAVAILABLE: gone")
            client.end()
        with other.start_as_current_span("with an array") as arrays:
            arrays.set_attributes({"tutti.labels": ["a", "b"], "tutti.huge": 1 << 70})
        try:
            with tracer.start_as_current_span("failed", links=[Link(remote, {"why": "retry"})]):
                raise ValueError("no")
        except ValueError:
            pass
        tracer.start_span("root", context=trace.set_span_in_context(trace.INVALID_SPAN)).end()
    return exporter.get_finished_spans()


def test_every_span_encodes_as_the_sdk_encodes_it(
    finished: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    spans = _spans(*finished)
    assert len(spans) == 6
    ours, theirs = encode_request(spans), encode_spans(spans)
    assert ours == theirs
    # Spans of two scopes under one resource, grouped the same way.
    assert [len(s.spans) for s in ours.resource_spans[0].scope_spans] == [4, 2]
    # The common spans took the direct path; arrays, events and links the SDK's.
    direct = {span.name for span in spans if _span(span) is not None}
    assert direct == {
        "/tutti.v1.RouterService/Route",
        "stage triage",
        "/tutti.v1.StageService/Invoke",
        "root",
    }


def test_one_span_at_a_time_and_an_empty_batch_encode_alike(
    finished: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    for span in _spans(*finished):
        assert encode_request([span]) == encode_spans([span]), span.name
    assert encode_request([]) == encode_spans([])
