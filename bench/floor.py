"""The floor: a hand-written minimal grpc.aio + uvloop chain, bytes in / bytes out.

    python -m bench.floor stage                          # echoes the request bytes
    python -m bench.floor merge                          # returns the first candidate
    python -m bench.floor router --mode route --next A
    python -m bench.floor router --mode fanout --next A,B,C --merge M
    python -m bench.floor router --mode sequence --next A,B,C,D,E
    python -m bench.floor sink                           # an OTLP receiver that drops everything

Each process binds 127.0.0.1:0 and prints `floor: port N` once serving.
No protobuf is decoded anywhere: generic handlers with identity (de)serializers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys

import grpc
import uvloop

METHOD = "/floor.Floor/Call"
SERVICE = "floor.Floor"
READY = "floor: port "


def _ident(b: bytes) -> bytes:
    return b


def _handler(fn):  # type: ignore[no-untyped-def]
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Call": grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=_ident, response_serializer=_ident
            )
        },
    )


def _callable(address: str) -> grpc.aio.UnaryUnaryMultiCallable:
    channel = grpc.aio.insecure_channel(address)
    return channel.unary_unary(METHOD, request_serializer=_ident, response_deserializer=_ident)


def pack(candidates: list[bytes]) -> bytes:
    """Candidates as length-prefixed bytes, what the floor's merge stage reads."""
    return b"".join(struct.pack("<I", len(c)) + c for c in candidates)


async def _serve(args: argparse.Namespace) -> None:
    if args.role == "sink":
        pass
    elif args.role == "stage":

        async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return request

    elif args.role == "merge":

        async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            (n,) = struct.unpack_from("<I", request, 0)
            return request[4 : 4 + n]

    else:
        hops = [_callable(a) for a in args.next.split(",")]
        if args.mode == "route":
            hop = hops[0]

            async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
                return await hop(request)

        elif args.mode == "sequence":

            async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
                data = request
                for h in hops:
                    data = await h(data)
                return data

        elif args.mode == "fanout":
            merge = _callable(args.merge)

            async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
                answers = await asyncio.gather(*(h(request) for h in hops))
                return await merge(pack(list(answers)))

        else:
            raise SystemExit(f"unknown mode {args.mode}")

    server = grpc.aio.server()
    if args.role == "sink":
        server.add_generic_rpc_handlers(_sink_handlers())
    else:
        server.add_generic_rpc_handlers((_handler(call),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"{READY}{port}", flush=True)
    await server.wait_for_termination()


def _sink_handlers():  # type: ignore[no-untyped-def]
    """OTLP/gRPC trace and metrics Export, answered with an empty (valid) response."""

    async def drop(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b""

    return tuple(
        grpc.method_handlers_generic_handler(
            f"opentelemetry.proto.collector.{signal}.v1.{service}",
            {
                "Export": grpc.unary_unary_rpc_method_handler(
                    drop, request_deserializer=_ident, response_serializer=_ident
                )
            },
        )
        for signal, service in (("trace", "TraceService"), ("metrics", "MetricsService"))
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.floor")
    p.add_argument("role", choices=["stage", "merge", "router", "sink"])
    p.add_argument("--mode", default="route", choices=["route", "fanout", "sequence"])
    p.add_argument("--next", default="")
    p.add_argument("--merge", default="")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
