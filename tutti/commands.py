"""What each `tutti` sub-command does, behind the argument parsing in cli.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from google.protobuf import json_format
from grpc import aio

from tutti.errors import ConfigError, Problem, TuttiError
from tutti.mesh import Mesh, ready_line, stage_config
from tutti.messages import MessageTypes, pack
from tutti.security import ClientTls, ServerTls, TokenCheck, load_token
from tutti.server import Server, ServerOptions, Service, serve_until_signal
from tutti.telemetry import setup_telemetry
from tutti.v1 import router_pb2, router_pb2_grpc

if TYPE_CHECKING:
    from router_service import Described, Draft

__all__ = ["check", "demo", "route", "serve", "up"]


# -- serve ---------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    import uvloop

    uvloop.run(_serve(args))
    return 0


def _specialist_service(configs: list[str], stage: str | None) -> Service:
    from specialist_service import load_specialist_config, service

    if len(configs) != 1:
        raise ConfigError(Problem("<command line>", 0, "a specialist takes exactly one --config"))
    if stage:
        return service(stage_config(configs[0], stage))
    return service(load_specialist_config(configs[0]))


def _server_tls(args: argparse.Namespace) -> ServerTls | None:
    if not args.tls_cert and not args.tls_key:
        if args.tls_client_ca:
            raise ConfigError(
                Problem("<command line>", 0, "--tls-client-ca needs --tls-cert and --tls-key")
            )
        return None
    if not (args.tls_cert and args.tls_key):
        raise ConfigError(Problem("<command line>", 0, "--tls-cert and --tls-key go together"))
    return ServerTls(
        Path(args.tls_cert),
        Path(args.tls_key),
        Path(args.tls_client_ca) if args.tls_client_ca else None,
    )


def _client_tls(args: argparse.Namespace) -> ClientTls | None:
    if not args.tls_ca:
        if args.tls_client_cert or args.tls_client_key:
            raise ConfigError(
                Problem("<command line>", 0, "--tls-client-cert and --tls-client-key need --tls-ca")
            )
        return None
    return ClientTls(
        Path(args.tls_ca),
        Path(args.tls_client_cert) if args.tls_client_cert else None,
        Path(args.tls_client_key) if args.tls_client_key else None,
    )


async def _serve(args: argparse.Namespace) -> None:
    kind: str = args.kind
    # Flags and secret files are checked before anything starts.
    tls = _server_tls(args)
    client_tls = _client_tls(args) if kind == "router" else None
    token = load_token(args.token_file) if kind == "router" else None
    telemetry = setup_telemetry(f"tutti-{kind}")
    max_message_bytes = args.max_message_mb * 1024 * 1024
    if kind == "router":
        import router_service
        from tutti.channels import ChannelPool

        if not args.config:
            raise ConfigError(
                Problem("<command line>", 0, "the router needs at least one --config COMPOSITION")
            )
        channels = ChannelPool(max_message_bytes, tls=client_tls)
        router = await router_service.Router.load(args.config, dict(args.endpoint), channels)
        services = [router_service.service(router, authorize=TokenCheck(token) if token else None)]
        if args.reload_every > 0:
            router.watch(args.reload_every)
    elif kind == "specialist":
        services = [_specialist_service(args.config, args.stage)]
    else:
        import merger_service

        services = [merger_service.service()]
    options = ServerOptions(
        host=args.host,
        port=args.port,
        grace_s=args.grace,
        max_message_bytes=max_message_bytes,
        max_in_flight=args.max_in_flight,
        tls=tls,
    )
    server = Server(services, options)

    def ready(server: Server) -> None:
        print(ready_line(kind, server.address), flush=True)

    try:
        await serve_until_signal(server, on_ready=ready)
    finally:
        # Last, after the drain and the outbound channels: the final spans get out.
        telemetry.shutdown()


# -- check ---------------------------------------------------------------------


def check(files: list[str], live: bool = False) -> int:
    """Compile each file; print every problem; 1 if any file has one."""
    from router_service import compile_composition, read_composition

    failed = 0
    for file in files:
        try:
            draft = read_composition(file)
            types = MessageTypes()
            described: dict[str, tuple[str, str]] = {}
            if live:
                found = asyncio.run(_describe(draft, types))
                described = {name: (d.input_type, d.output_type) for name, d in found.items()}
            composition = compile_composition(draft, described, types)
        except ConfigError as exc:
            failed += 1
            count = len(exc.problems)
            print(f"{file}: {count} error{'s' if count != 1 else ''}")
            for problem in exc.problems:
                print(f"  {problem}")
            continue
        print(
            f"{file}: ok: composition '{composition.name}' {composition.input_type} ->"
            f" {composition.output_type}, {len(composition.stages)} stages"
        )
        for warning in composition.warnings:
            print(f"  warning: {warning}")
    return 1 if failed else 0


async def _describe(draft: Draft, types: MessageTypes) -> dict[str, Described]:
    from router_service import describe_stages
    from tutti.channels import ChannelPool

    channels = ChannelPool()
    try:
        return dict(await describe_stages(draft, channels, types, timeout_s=3.0))
    finally:
        await channels.close()


# -- up ------------------------------------------------------------------------


def up(composition: str, port: int) -> int:
    """Start the mesh, print where everything is, and keep it up until a signal."""
    # SIGTERM stops `up` the way Ctrl-C does, through KeyboardInterrupt, so the
    # children are stopped in both cases, even while they are still starting.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    mesh = Mesh.start(composition, router_port=port, log_level="INFO")
    try:
        print(f"composition {composition} is up:")
        for name, address in mesh.endpoints.items():
            print(f"  {name:<20} {address}")
        print(f"  {'router':<20} {mesh.router_address}")
        print("Ctrl-C stops every service.", flush=True)
        while True:
            time.sleep(0.5)
            dead = [c.name for c in mesh.children if c.process.poll() is not None]
            if dead:
                print(f"tutti up: {', '.join(dead)} exited; stopping the rest", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
        return 0
    finally:
        mesh.stop()


# -- route ---------------------------------------------------------------------


class _RouterStub(Protocol):
    """The calls this module makes on the generated, untyped RouterServiceStub."""

    Route: aio.UnaryUnaryMultiCallable[router_pb2.RouteRequest, router_pb2.RouteResponse]
    ListCompositions: aio.UnaryUnaryMultiCallable[
        router_pb2.ListCompositionsRequest, router_pb2.ListCompositionsResponse
    ]


def _router_stub(channel: aio.Channel) -> _RouterStub:
    return router_pb2_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]


async def route(
    composition: str, input_json: str, router: str, timeout: float, budgets: bool = False
) -> int:
    name = composition
    if composition.endswith((".yaml", ".yml")) and Path(composition).is_file():
        from router_service import read_composition

        name = read_composition(composition).name
    async with aio.insecure_channel(router) as channel:
        stub = _router_stub(channel)
        try:
            listing = await stub.ListCompositions(
                router_pb2.ListCompositionsRequest(), timeout=timeout
            )
            info = next((c for c in listing.compositions if c.name == name), None)
            if info is None:
                served = ", ".join(c.name for c in listing.compositions) or "none"
                raise TuttiError(f"router {router} does not serve '{name}' (it serves: {served})")
            types = MessageTypes()
            types.learn(info.descriptors)
            message = types.message_class(info.input_type)()
            try:
                json_format.Parse(input_json, message)
            except json_format.ParseError as exc:
                raise TuttiError(f"--json is not a valid {info.input_type}: {exc}") from exc
            request = router_pb2.RouteRequest(composition=name, input=pack(message))
            response = await stub.Route(request, timeout=timeout)
        except aio.AioRpcError as exc:
            raise TuttiError(f"{exc.code().name}: {exc.details()}") from None
        output = types.unpack(response.output, info.output_type, "output")
        print(
            json.dumps(
                {
                    "output": json_format.MessageToDict(output),
                    "execution": json_format.MessageToDict(response.execution),
                },
                indent=2,
            )
        )
        if budgets:
            from tutti.report import budget_report

            print(budget_report(response.execution))
    return 0


# -- demo ----------------------------------------------------------------------


def demo(
    tickets: int | None, seed: int, out: str, sweep: bool, retrain: bool, drafts: bool = True
) -> int:
    """The support desk, measured: see tutti.demo."""
    from tutti.demo import run_demo

    report = run_demo(tickets, seed, sweep, retrain, drafts=drafts)
    print()
    print(report.table())
    for path in report.write(Path(out)):
        print(f"wrote {path}")
    return 0


# -- train ---------------------------------------------------------------------


def train(
    data: str,
    kind: str,
    out: str,
    seed: int,
    text_column: str,
    label_column: str,
    departments: str | None,
    department: str | None,
    predict_department: bool,
) -> int:
    """Train one model from a labelled TSV/CSV file into `out`."""
    from specialist_service import training

    labelled = training.read_labelled(data, text_column, label_column)
    groups = training.read_departments(departments) if departments else None
    selected = training.select_for(labelled, kind, groups, department, predict_department, data)
    artifact = training.train(selected, kind, out, seed)
    print(f"serve it with: backend: sklearn, model: {artifact.model_file}")
    return 0
