"""The flags of `tutti traces`: which Phoenix to run, its ports and where it keeps traces."""

from __future__ import annotations

import argparse
import textwrap

__all__ = ["add_traces"]


def add_traces(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    traces = commands.add_parser(
        "traces",
        help="run a trace viewer (Arize Phoenix) on loopback for the services' spans",
        description=textwrap.dedent(
            """\
            Start Arize Phoenix on 127.0.0.1 in the foreground: its web UI and REST API on
            --port, an OTLP/gRPC collector on --grpc-port. Print the UI's address and the
            OTEL_* variables that make `tutti up`, `tutti serve` and the clients send their
            spans to it; Ctrl-C stops it. Phoenix runs from a virtualenv of its own
            (`make traces` creates .venv-phoenix); its telemetry and external resources are
            turned off."""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    traces.add_argument(
        "--phoenix",
        metavar="PATH",
        help="the phoenix executable (default: .venv-phoenix/bin/phoenix here, else on PATH)",
    )
    traces.add_argument(
        "--port", type=int, default=6006, help="web UI and REST API port (default: %(default)s)"
    )
    traces.add_argument(
        "--grpc-port",
        type=int,
        default=4317,
        help="OTLP/gRPC collector port (default: %(default)s)",
    )
    traces.add_argument(
        "--working-dir",
        metavar="DIR",
        help="keep Phoenix's database here (default: a temporary folder, removed on exit)",
    )
