"""`tutti serve`: one service (router, specialist or merger) on its port until a signal.

With `--health-port`, a second plaintext port serves health alone (tutti/server.py);
with `--model-digest`, a specialist checks its model files before it loads them.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tutti.config import search_beside
from tutti.errors import ConfigError, Problem
from tutti.security import ClientTls, ServerTls, TokenCheck, exposure_warnings, load_token
from tutti.server import Server, ServerOptions, Service, serve_until_signal
from tutti.telemetry import setup_telemetry
from workbench.mesh import ready_line
from workbench.serve_blocks import stage_config

__all__ = ["HEALTH_PREFIX", "serve"]

log = logging.getLogger("tutti.serve")

# The line saying where the plaintext health port is, printed before the ready line.
HEALTH_PREFIX = "tutti: health of "


def serve(args: argparse.Namespace) -> int:
    import uvloop

    uvloop.run(_serve(args))
    return 0


def _specialist_service(configs: list[str], stage: str | None, digest: str | None) -> Service:
    from specialist_service import check_model_digest, load_specialist_config, service

    if len(configs) != 1:
        raise ConfigError(Problem("<command line>", 0, "a specialist takes exactly one --config"))
    config = stage_config(configs[0], stage) if stage else load_specialist_config(configs[0])
    if digest is not None:
        # Before the backend reads a byte of the model: a wrong file is never served.
        check_model_digest(config, digest)
        log.info("model files of stage '%s' match %s", config.stage, digest)
    search_beside(config.base_dir)
    return service(config)


def _merger_service(compositions: list[str]) -> Service:
    """The merger, knowing the message types of every composition it merges for."""
    import merger_service
    from router_service import read_composition

    # As written, not only those that imported: a module that fails is the merger's error.
    listed: dict[str, None] = {}
    for path in compositions:
        modules = read_composition(path).document.get("imports")
        if isinstance(modules, list):
            listed.update(dict.fromkeys(str(m) for m in modules))
    return merger_service.service(imports=list(listed), source=", ".join(compositions))


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
    if args.model_digest and kind != "specialist":
        raise ConfigError(
            Problem(
                "<command line>",
                0,
                f"--model-digest checks a specialist's model files; a {kind} loads none",
            )
        )
    if args.token_file and kind != "router":
        # Refused rather than ignored: a specialist or merger would answer without one.
        raise ConfigError(
            Problem(
                "<command line>",
                0,
                f"--token-file protects the router; a {kind} does not check tokens: keep it on"
                " a private network or loopback, or require client certificates (--tls-client-ca)",
            )
        )
    token = load_token(args.token_file) if kind == "router" else None
    for warning in exposure_warnings(
        args.host, tls is not None, bool(token), args.token_file, kind
    ):
        log.warning("%s", warning)
    telemetry = setup_telemetry(f"tutti-{kind}")
    # Shut down last, after the drain and the outbound channels, and also when start-up fails
    # (a model digest that differs, a composition that does not load): the spans get out.
    try:
        max_message_bytes = args.max_message_mb * 1024 * 1024
        services = await _services(kind, args, client_tls, token, max_message_bytes)
        options = ServerOptions(
            host=args.host,
            port=args.port,
            grace_s=args.grace,
            max_message_bytes=max_message_bytes,
            max_in_flight=args.max_in_flight,
            max_streams=args.max_streams,
            stream_idle_s=args.stream_idle_s,
            tls=tls,
            health_port=args.health_port,
        )

        def ready(server: Server) -> None:
            if server.health_address is not None:
                # Before the ready line, which whoever started this reads up to.
                print(f"{HEALTH_PREFIX}{kind} on {server.health_address}", flush=True)
            print(ready_line(kind, server.address), flush=True)

        await serve_until_signal(Server(services, options), on_ready=ready)
    finally:
        telemetry.shutdown()


async def _services(
    kind: str,
    args: argparse.Namespace,
    client_tls: ClientTls | None,
    token: str | None,
    max_message_bytes: int,
) -> list[Service]:
    """The service of `kind`, loaded from its configuration (a router's compositions)."""
    if kind == "specialist":
        return [_specialist_service(args.config, args.stage, args.model_digest)]
    if kind != "router":
        return [_merger_service(args.config)]
    import router_service
    from tutti.channels import ChannelPool

    if not args.config:
        raise ConfigError(
            Problem("<command line>", 0, "the router needs at least one --config COMPOSITION")
        )
    for composition in args.config:
        search_beside(Path(composition).parent)
    channels = ChannelPool(max_message_bytes, tls=client_tls)
    router = await router_service.Router.load(args.config, dict(args.endpoint), channels)
    if args.reload_every > 0:
        router.watch(args.reload_every)
    return [router_service.service(router, authorize=TokenCheck(token) if token else None)]
