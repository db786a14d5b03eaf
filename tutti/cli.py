"""The `tutti` command: serve, check, up, route and demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from tutti.errors import ConfigError, TuttiError

__all__ = ["main"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEFAULT_ROUTER = "127.0.0.1:50051"

DESCRIPTION = """\
Tutti composes AI models into one system over gRPC.

A composition file (YAML) declares the stages (model services, each behind
tutti.v1.StageService) and the flow between them: sequence, route, cascade,
fanout and split, nested freely. Start with:

  tutti check examples/quickstart/composition.yaml   type-check it offline
  tutti up examples/quickstart/composition.yaml      start all its services
  tutti route quickstart --json '{"text": "hello"}'  send one request
"""


def _endpoint(value: str) -> tuple[str, str]:
    stage, sep, address = value.partition("=")
    if not sep or not stage or not address:
        raise argparse.ArgumentTypeError(f"expected STAGE=HOST:PORT, not {value!r}")
    return stage, address


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tutti", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run one service: router, specialist or merger",
        description="Run one service on 127.0.0.1 until SIGTERM or Ctrl-C, then drain in-flight requests.",
    )
    serve.add_argument("kind", choices=("router", "specialist", "merger"))
    serve.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="router: a composition file (repeat for several); specialist: a specialist config,"
        " or a composition file with --stage",
    )
    serve.add_argument(
        "--stage", help="specialist: serve this stage's `serve:` block of the composition"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds to drain on SIGTERM (default: %(default)s)",
    )
    serve.add_argument(
        "--endpoint",
        action="append",
        type=_endpoint,
        default=[],
        metavar="STAGE=HOST:PORT",
        help="router: override a stage's endpoint",
    )

    check = commands.add_parser(
        "check",
        help="type-check compositions offline",
        description="Compile each composition and list every error with file and line; exit 1 if any.",
    )
    check.add_argument("files", nargs="+", metavar="COMPOSITION.yaml")
    check.add_argument(
        "--live", action="store_true", help="also ask the live stages for their types (Describe)"
    )

    up = commands.add_parser(
        "up",
        help="start every service of a composition on loopback",
        description=textwrap.dedent(
            """\
            Start the composition's specialists (stages with a `serve:` block), its mergers
            and a router, as child processes on 127.0.0.1; wait until each reports healthy,
            print the endpoints, and stop them all on Ctrl-C or SIGTERM."""
        ),
    )
    up.add_argument("composition", metavar="COMPOSITION.yaml")
    up.add_argument("--port", type=int, default=50051, help="router port (default: %(default)s)")

    route = commands.add_parser(
        "route",
        help="send one request to a router and print the output and execution",
        description="Send one input, given as JSON of the composition's input type, and print the result.",
        epilog='example: tutti route quickstart --json \'{"text": "I forgot my password"}\'',
    )
    route.add_argument("composition", help="the composition's name, or its YAML file")
    route.add_argument("--json", required=True, dest="input_json", help="the input message as JSON")
    route.add_argument(
        "--router", default=DEFAULT_ROUTER, help="router address (default: %(default)s)"
    )
    route.add_argument(
        "--timeout", type=float, default=30.0, help="deadline in seconds (default: %(default)s)"
    )

    demo = commands.add_parser("demo", help="run the bundled example end to end and print a report")
    demo.add_argument(
        "--requests",
        type=_positive_int,
        default=50,
        help="how many requests to send (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "serve":
            from tutti.commands import serve

            return serve(args)
        if args.command == "check":
            from tutti.commands import check

            return check(args.files, live=args.live)
        if args.command == "up":
            from tutti.commands import up

            return up(args.composition, args.port)
        if args.command == "route":
            from tutti.commands import route

            return asyncio.run(route(args.composition, args.input_json, args.router, args.timeout))
        if args.command == "demo":
            from tutti.commands import demo

            return demo(args.requests)
    except ConfigError as exc:
        print(f"tutti: configuration error: {exc}", file=sys.stderr)
        return 2
    except (TuttiError, OSError) as exc:
        print(f"tutti: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")
