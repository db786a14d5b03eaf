"""A router, a specialist and a merger as real processes, every RPC each serves, and calls
of raw bytes to them, for tests/faults/test_raw_bytes.py. Each process's stderr is kept in
a file, its RSS can be read, and a good request of its own kind tells whether it serves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2, message, message_factory, unknown_fields
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from tests.conftest import write_echo_composition
from tests.router_service.test_flow_nodes import text_request
from tests.serve_process import ServeProcess
from tutti.messages import pack
from tutti.v1 import merger_pb2, payloads_pb2, router_pb2, stage_pb2

__all__ = [
    "KINDS",
    "LoggedService",
    "Outcome",
    "Served",
    "answer_a_good_request",
    "decodes",
    "held",
    "in_band_errors",
    "listed_services",
    "methods_of",
    "path_of",
    "raw_call",
    "served_services",
    "service_names",
]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0  # every call's
# A server-streaming method that streams until the client goes: its first answer is enough.
OPEN_ENDED = {"/grpc.health.v1.Health/Watch"}
_CODES = {code.value[0]: code for code in grpc.StatusCode}
KINDS = ("router", "specialist", "merger")
# Every service in each server's generated module, and the two every server serves beside
# its own: a new RPC, or a new service in the same file, is fuzzed without editing the test.
_FILES = {
    "router": router_pb2.DESCRIPTOR,
    "specialist": stage_pb2.DESCRIPTOR,
    "merger": merger_pb2.DESCRIPTOR,
}
_PROBES = (health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR)
MERGER_COMPOSITION = (
    "composition: m\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nflow: echo\nstages:\n"
    '  echo: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}\n'
    '  merge: {endpoint: "127.0.0.1:1", kind: merger}\n'
)
SPECIALIST_CONFIG = 'stage: echo\nbackend: python\nfactory: "tests.stages:echo"\noptions: {}\n'


def service_names(kind: str) -> list[str]:
    """Full names of the gRPC services a server of `kind` serves."""
    return [s.full_name for f in (_FILES[kind], *_PROBES) for s in f.services_by_name.values()]


def methods_of(kind: str) -> list[MethodDescriptor]:
    files = (_FILES[kind], *_PROBES)
    return [m for f in files for s in f.services_by_name.values() for m in s.methods]


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


class LoggedService(ServeProcess):
    """One `tutti serve KIND` process with its stderr kept in a file."""

    def __init__(self, kind: str, stderr: Path, *argv: str) -> None:
        super().__init__(kind, *argv, "--grace", "1", stderr=stderr)
        self.kind = kind
        self.started = time.monotonic()


@dataclass
class Served:
    """A running service, a channel to it, and its RSS before any fuzzing."""

    kind: str
    process: LoggedService
    channel: grpc.Channel
    baseline_rss_mb: float


@contextmanager
def served_services(folder: Path) -> Iterator[dict[str, Served]]:
    """The three services, started at once (the router once its specialist serves)."""
    (folder / "specialist.yaml").write_text(SPECIALIST_CONFIG)
    (folder / "merger.yaml").write_text(MERGER_COMPOSITION)
    with ExitStack() as stack:

        def start(kind: str, config: Path) -> LoggedService:
            process = LoggedService(kind, folder / f"{kind}.stderr", "--config", str(config))
            stack.callback(process.stop)
            return process

        processes = {
            "specialist": start("specialist", folder / "specialist.yaml"),
            "merger": start("merger", folder / "merger.yaml"),
        }
        endpoint = f'"{processes["specialist"].ready()}"'
        processes["router"] = start("router", write_echo_composition(folder / "r.yaml", endpoint))
        served: dict[str, Served] = {}
        for kind in KINDS:
            channel = grpc.insecure_channel(processes[kind].ready())
            stack.callback(channel.close)
            answer_a_good_request(kind, channel)
            served[kind] = Served(kind, processes[kind], channel, processes[kind].rss_mb())
        yield served


def _typed(channel: grpc.Channel, path: str, request: message.Message) -> Any:
    method = next(m for kind in KINDS for m in methods_of(kind) if path_of(m) == path)
    reply = message_factory.GetMessageClass(method.output_type)
    serialize = type(request).SerializeToString
    call = channel.unary_unary(
        path, request_serializer=serialize, response_deserializer=reply.FromString
    )
    return call(request, timeout=10)


def answer_a_good_request(kind: str, channel: grpc.Channel) -> None:
    """The service reports SERVING and answers a request of its own kind correctly."""
    checked = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert checked.status == health_pb2.HealthCheckResponse.SERVING, (kind, checked)
    want: message.Message = payloads_pb2.Text(text="still here")
    asked: message.Message
    if kind == "router":
        path, asked = "/tutti.v1.RouterService/Route", text_request("still here")
    elif kind == "specialist":
        path, asked = "/tutti.v1.StageService/Invoke", stage_pb2.InvokeRequest(input=pack(want))
    else:
        votes = [("a", "billing"), ("b", "outage"), ("c", "billing")]
        path, want = "/tutti.v1.MergerService/Merge", payloads_pb2.Classification(label="billing")
        asked = merger_pb2.MergeRequest(
            candidates=[
                merger_pb2.Candidate(name=n, output=pack(payloads_pb2.Classification(label=label)))
                for n, label in votes
            ],
            strategy=merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
        )
    answer = _typed(channel, path, asked)
    got = type(want)()
    assert answer.output.Unpack(got), (kind, answer)
    key = "label" if kind == "merger" else "text"
    assert getattr(got, key) == getattr(want, key), (kind, answer)


def listed_services(channel: grpc.Channel) -> set[str]:
    """The services the server says it serves, asked by reflection."""
    info = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    (answer,) = info(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    return {s.name for s in answer.list_services_response.service}


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str = ""
    responses: list[bytes] = field(default_factory=list)


def raw_call(channel: grpc.Channel, method: MethodDescriptor, frames: list[bytes]) -> Outcome:
    """Send `frames` as the request(s) of `method`, as bytes, and read every response."""
    path, got = path_of(method), Outcome(grpc.StatusCode.OK)
    raw: dict[str, Any] = {"request_serializer": None, "response_deserializer": None}
    try:
        if method.client_streaming and method.server_streaming:
            bidi: grpc.StreamStreamMultiCallable[bytes, bytes] = channel.stream_stream(path, **raw)
            got.responses.extend(bidi(iter(frames), timeout=TIMEOUT_S))
        elif method.client_streaming:
            upload: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(path, **raw)
            got.responses.append(upload(iter(frames), timeout=TIMEOUT_S))
        elif method.server_streaming:
            download: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
                path, **raw
            )
            stream = download(frames[0], timeout=TIMEOUT_S)
            for response in stream:
                got.responses.append(response)
                if path in OPEN_ENDED:
                    stream.cancel()
                    break
        else:
            unary: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path, **raw)
            got.responses.append(unary(frames[0], timeout=TIMEOUT_S))
    except grpc.RpcError as exc:
        assert isinstance(exc, grpc.Call)
        got.code, got.details = exc.code(), exc.details() or ""
    return got


def decodes(method: MethodDescriptor, data: bytes) -> bool:
    """Whether `data` is a request of `method`, as the server's protobuf will find."""
    try:
        message_factory.GetMessageClass(method.input_type).FromString(data)
    except message.DecodeError:
        return False
    return True


def held(msg: message.Message) -> int:
    """Bytes of the Any payloads in `msg` (singular fields): what a stage's model is handed."""
    if isinstance(msg, any_pb2.Any):
        return len(msg.value)
    return sum(held(v) for f, v in msg.ListFields() if f.message_type and not f.is_repeated)


def in_band_errors(method: MethodDescriptor, raw: bytes) -> list[tuple[grpc.StatusCode, str]]:
    """The errors a stream answers inside a response (RouteStream's `error`, reflection's
    `error_response`): each one's code and message. Only those fields are decoded: another
    may echo the request one level deeper than sent (reflection's original_request), so
    past the recursion limit when the request was just under it."""
    errors = {
        f.number: message_factory.GetMessageClass(f.message_type)
        for f in method.output_type.fields
        if f.message_type is not None and f.name in ("error", "error_response")
    }
    found = []
    tops = unknown_fields.UnknownFieldSet(empty_pb2.Empty.FromString(raw))
    for top in (tops[i] for i in range(len(tops))):
        if top.field_number in errors:
            parts = [v for _, v in errors[top.field_number].FromString(top.data).ListFields()]
            code = next((v for v in parts if isinstance(v, int)), 0)
            said = next((v for v in parts if isinstance(v, str)), "")
            found.append((_CODES.get(code, grpc.StatusCode.UNKNOWN), said))
    return found
