"""The systems under test, per topology: Tutti (four variants), the gRPC floor, Ray Serve."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench import floor
from bench.procfs import descendants
from bench.topologies import PAYLOAD_BYTES, composition_text, text_payload

__all__ = ["SYSTEMS", "System", "ray_available", "start"]

HERE = Path(__file__).resolve().parent
SYSTEMS = (
    "tutti",
    "tutti+validation",
    "tutti+metrics",
    "tutti+tracing",
    "tutti+tracing-10%",
    "floor",
    "ray",
)


@dataclass
class System:
    name: str
    call: Callable[[], Awaitable[object]]
    pids: Callable[[], dict[str, int]]  # read before and after each run: Ray's tree may change
    stop: Callable[[], None]
    channel: grpc.aio.Channel


def start_tutti(topology: str, workdir: Path, variant: str) -> System:
    """A Tutti mesh; `variant` is one of the "tutti" names in SYSTEMS."""
    from google.protobuf import any_pb2

    from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
    from workbench.mesh import Mesh

    folder = workdir / f"{topology}-{variant}"
    folder.mkdir()
    shutil.copy(HERE / "stages.py", folder / "stages.py")
    path = folder / "composition.yaml"
    path.write_text(composition_text(topology, validate=variant == "tutti+validation"))
    sink = None
    env = {"OTEL_SDK_DISABLED": "true"}
    if variant.startswith(("tutti+tracing", "tutti+metrics")):
        # Every service exports its spans (and metrics) to a sink process that drops them.
        sink, sink_address = _spawn_floor(["sink"])
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{sink_address}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
        if variant == "tutti+metrics":
            # Metrics alone: what the tracing variants pay for their metrics, set apart.
            env["OTEL_TRACES_EXPORTER"] = "none"
        if variant == "tutti+tracing-10%":
            # The standard variables: the router samples one request in ten, and the
            # stages follow the sampled flag their caller sends.
            env["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
            env["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
    try:
        mesh = Mesh.start(path, env=env)
    except BaseException:
        if sink is not None:
            _stop_procs({"sink": sink})
        raise
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * PAYLOAD_BYTES))
    request = router_pb2.RouteRequest(composition=f"bench_{topology}", input=packed)
    channel = grpc.aio.insecure_channel(mesh.router_address)
    stub = router_pb2_grpc.RouterServiceStub(channel)

    def call() -> Awaitable[object]:
        return stub.Route(request, timeout=30)

    pids = {c.name: c.process.pid for c in mesh.children}

    def stop() -> None:
        mesh.stop()
        if sink is not None:
            _stop_procs({"sink": sink})

    return System(variant, call, lambda: pids, stop, channel)


def _spawn_floor(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(floor.READY):
        proc.kill()
        raise RuntimeError(f"floor {args} did not start: {line!r}")
    return proc, f"127.0.0.1:{int(line[len(floor.READY) :])}"


def start_floor(topology: str) -> System:
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        n = {"route": 1, "fanout": 3, "sequence": 5}[topology]
        addresses = []
        for i in range(n):
            procs[f"stage{i + 1}"], address = _spawn_floor(["stage"])
            addresses.append(address)
        argv = ["router", "--mode", topology, "--next", ",".join(addresses)]
        if topology == "fanout":
            procs["merge"], merge_address = _spawn_floor(["merge"])
            argv += ["--merge", merge_address]
        procs["router"], router_address = _spawn_floor(argv)
    except BaseException:
        _stop_procs(procs)
        raise

    channel = grpc.aio.insecure_channel(router_address)
    method = channel.unary_unary(
        floor.METHOD, request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    payload = text_payload()

    def call() -> Awaitable[object]:
        return method(payload, timeout=30)

    pids = {k: p.pid for k, p in procs.items()}
    return System("floor", call, lambda: pids, lambda: _stop_procs(procs), channel)


def ray_available() -> bool:
    try:
        import ray.serve  # noqa: F401
    except ImportError:
        return False
    return True


def start_ray(topology: str) -> System:
    from google.protobuf import any_pb2

    from bench import ray_serve
    from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ray_serve", topology],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=HERE.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(ray_serve.READY):
        _stop_ray(proc)
        raise RuntimeError(f"Ray Serve ({topology}) did not start: {line!r}")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{int(line[len(ray_serve.READY) :])}")
    stub = stage_pb2_grpc.StageServiceStub(channel)
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * PAYLOAD_BYTES))
    request = stage_pb2.InvokeRequest(input=packed)

    def call() -> Awaitable[object]:
        return stub.Invoke(request, metadata=ray_serve.METADATA, timeout=30)

    def pids() -> dict[str, int]:
        # The driver, raylet, GCS, Serve controller, proxy and one worker per replica.
        return {f"ray:{pid}": pid for pid in descendants(proc.pid)}

    return System("ray", call, pids, lambda: _stop_ray(proc), channel)


def _stop_ray(proc: subprocess.Popen[str]) -> None:
    tree = descendants(proc.pid)
    if proc.stdin is not None:
        proc.stdin.close()  # the driver shuts Serve and Ray down
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    for pid in tree:  # whatever Ray left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _stop_procs(procs: dict[str, subprocess.Popen[str]]) -> None:
    order = sorted(procs, key=lambda k: k != "router")  # the router first
    for name in order:
        procs[name].terminate()
    for name in order:
        try:
            procs[name].wait(timeout=5)
        except subprocess.TimeoutExpired:
            procs[name].kill()
            procs[name].wait()
        if procs[name].stdout is not None:
            procs[name].stdout.close()


def start(name: str, topology: str, workdir: Path) -> System:
    if name.startswith("tutti"):
        return start_tutti(topology, workdir, name)
    if name == "ray":
        return start_ray(topology)
    return start_floor(topology)
