"""Exporters that fail quietly: one log line when an endpoint stops answering, one when it is back."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricsData
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["console_metric_exporter", "console_span_exporter", "quiet_metrics", "quiet_spans"]

log = logging.getLogger("tutti.telemetry")

# Where the OTLP exporters log each failed batch, and each retry of it, for as long as the
# endpoint is down; the batch processor logs each dropped span (once per 20 s) the same way.
_OTLP_LOGGER = "opentelemetry.exporter.otlp.proto.grpc.exporter"
_PROCESSOR_LOGGER = "opentelemetry.sdk._shared_internal"
_PER_BATCH = ("Failed to export", "Transient error", "Shutdown in progress, aborting retry")
_QUEUE_FULL = "Queue full"


class _ExportWords(logging.Filter):
    """Keeps the OTLP exporters' per-batch failures out of the log, remembering the last one.

    Their words (the status code and details) go into the one line an
    `_ExportHealth` logs when its endpoint starts failing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, str] = {}  # signal ("traces", "metrics") -> what went wrong
        self.failing: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith(_QUEUE_FULL):
            # A consequence of the endpoint being down, already said once.
            return not self.failing
        if not message.startswith(_PER_BATCH):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if message.startswith("Failed to export") and len(args) == 4:
            self.last[str(args[0])] = f"{_code(args[2])}: {args[3]}"
        elif message.startswith("Transient error") and len(args) == 5:
            self.last[str(args[1])] = f"{_code(args[0])}: {args[4]}"
        return False


def _code(code: Any) -> str:
    return str(getattr(code, "name", code))


_words: _ExportWords | None = None
_words_lock = threading.Lock()


def _export_words() -> _ExportWords:
    """The one filter of this process, installed on the OTLP loggers the first time it is needed."""
    global _words
    with _words_lock:
        if _words is None:
            _words = _ExportWords()
            logging.getLogger(_OTLP_LOGGER).addFilter(_words)
            logging.getLogger(_PROCESSOR_LOGGER).addFilter(_words)
        return _words


class _ExportHealth:
    """Whether one signal's endpoint answers; logs only the changes."""

    def __init__(self, signal: str, endpoint: str) -> None:
        self.signal = signal
        self.endpoint = endpoint
        self._words = _export_words()
        self._failing = False
        self._dropped = 0

    def exported(self, ok: bool, items: int, unit: str) -> None:
        if ok:
            if self._failing:
                self._failing = False
                self._words.failing.discard(self.signal)
                log.warning(
                    "exporting %s to %s again (%d %s dropped while it failed)",
                    self.signal,
                    self.endpoint,
                    self._dropped,
                    unit,
                )
            self._dropped = 0
            return
        self._dropped += items
        if not self._failing:
            self._failing = True
            self._words.failing.add(self.signal)
            words = self._words.last.get(self.signal, "no answer")
            log.warning(
                "cannot export %s to %s (%s); dropping them, logged again when it answers",
                self.signal,
                self.endpoint,
                words,
            )


def _endpoint(signal: str) -> str:
    """The endpoint the OTLP exporter reads from the same variables, for the log line."""
    return (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or "localhost:4317"
    )


def quiet_spans(exporter: SpanExporter) -> SpanExporter:
    """`exporter` (OTLP), logging once when its endpoint fails and once when it recovers."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    health = _ExportHealth("traces", _endpoint("traces"))

    class QuietSpanExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result = exporter.export(spans)
            health.exported(result is SpanExportResult.SUCCESS, len(spans), "spans")
            return result

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return QuietSpanExporter()


def quiet_metrics(exporter: MetricExporter) -> MetricExporter:
    """`exporter` (OTLP), logging once when its endpoint fails and once when it recovers."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    health = _ExportHealth("metrics", _endpoint("metrics"))

    class QuietMetricExporter(MetricExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            result = exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            health.exported(result is MetricExportResult.SUCCESS, 1, "exports")
            return result

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            exporter.shutdown(timeout_millis=timeout_millis, **kwargs)

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return exporter.force_flush(timeout_millis)

    # The reader asks the exporter for its temporality and aggregation: the wrapped one's.
    quiet = QuietMetricExporter(
        preferred_temporality=exporter._preferred_temporality,
        preferred_aggregation=exporter._preferred_aggregation,
    )
    return quiet


def console_span_exporter() -> SpanExporter:
    """Spans on stderr, one JSON line each.

    The SDK's default prints about forty indented lines per span, which the
    services of a mesh, sharing one terminal, interleave into an unreadable
    stream. stderr: a service's stdout carries its ready line to whoever started it.
    """
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    def one_line(span: ReadableSpan) -> str:
        return str(span.to_json(indent=None)) + "\n"

    return ConsoleSpanExporter(out=sys.stderr, formatter=one_line)


def console_metric_exporter() -> MetricExporter:
    """Metrics on stderr, one JSON line per export."""
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

    def one_line(data: MetricsData) -> str:
        return data.to_json(indent=None) + "\n"

    return ConsoleMetricExporter(out=sys.stderr, formatter=one_line)
