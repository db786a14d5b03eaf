"""The same three topologies as Ray Serve deployments behind Ray Serve's gRPC ingress.

    python -m bench.ray_serve route|fanout|sequence

Starts a local Ray (2 CPUs, no dashboard) and Serve with its gRPC proxy on a
free loopback port, deploys one application, prints `ray: port N` once it
answers, and shuts everything down when stdin closes. Needs the `bench`
extra (`pip install -e '.[bench]'`, which brings `ray[serve]`).

The ingress deployment speaks tutti.v1.StageService/Invoke (a 1 KiB Text in
an Any, as in the Tutti and floor runs) and calls the stage deployments
through DeploymentHandles, hub and spoke like the Tutti router and the floor:
route calls one echo; fanout calls three classifiers at once and a merge
that returns the first candidate; sequence calls five echoes one after
another. Every deployment has one replica in its own worker process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from typing import Any

READY = "ray: port "
APP = "bench"
SERVICER = "tutti.v1.stage_pb2_grpc.add_StageServiceServicer_to_server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(topology: str) -> Any:
    from google.protobuf import any_pb2
    from ray import serve

    from tutti.v1 import payloads_pb2, stage_pb2

    # One replica each; Serve's default of 5 ongoing requests per replica makes its router
    # back off and retry under 64 in flight (throughput collapsed to ~20 req/s here).
    options = {
        "ray_actor_options": {"num_cpus": 0},
        "num_replicas": 1,
        "max_ongoing_requests": 256,
    }

    @serve.deployment(**options)
    class Echo:
        def Invoke(self, request: Any) -> Any:
            return stage_pb2.InvokeResponse(output=request.input)

    @serve.deployment(**options)
    class Classify:
        def __init__(self) -> None:
            self.output = any_pb2.Any()
            self.output.Pack(
                payloads_pb2.Classification(
                    label="echo", confidence=0.9, scores={"echo": 0.9, "other": 0.1}
                )
            )

        def Invoke(self, request: Any) -> Any:
            return stage_pb2.InvokeResponse(output=self.output)

    @serve.deployment(**options)
    class Merge:
        def Merge(self, outputs: list[Any]) -> Any:
            return stage_pb2.InvokeResponse(output=outputs[0])

    @serve.deployment(**options)
    class Ingress:
        def __init__(self, stages: list[Any], merge: Any = None) -> None:
            self.stages = stages
            self.merge = merge

        async def Invoke(self, request: Any) -> Any:
            if topology == "fanout":
                answers = await asyncio.gather(*(s.Invoke.remote(request) for s in self.stages))
                return await self.merge.Merge.remote([a.output for a in answers])
            response = None
            for stage in self.stages:
                response = await stage.Invoke.remote(request)
                request = stage_pb2.InvokeRequest(input=response.output)
            return response

    if topology == "route":
        return Ingress.bind([Echo.bind()])
    if topology == "fanout":
        classifiers = [Classify.options(name=f"Classify{i}").bind() for i in range(3)]
        return Ingress.bind(classifiers, Merge.bind())
    return Ingress.bind([Echo.options(name=f"Echo{i}").bind() for i in range(5)])


METADATA = (("application", APP),)


def _wait_until_answering(port: int, timeout_s: float = 120.0) -> None:
    """serve.run returns before the proxy's route table knows the app: ask until it answers."""
    import grpc
    from google.protobuf import any_pb2

    from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

    payload = any_pb2.Any()
    payload.Pack(payloads_pb2.Text(text="ready?"))
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = stage_pb2_grpc.StageServiceStub(channel)
        while True:
            try:
                stub.Invoke(stage_pb2.InvokeRequest(input=payload), metadata=METADATA, timeout=10)
                return
            except grpc.RpcError as exc:
                if time.monotonic() > deadline:
                    raise
                print(
                    f"ray: not answering yet: {exc.code()} {exc.details()}",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(0.5)


def main() -> None:
    topology = sys.argv[1]
    os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Direct ingress (on with the setting above in Ray 2.60) answered NOT_FOUND for the
    # deployed app here; the gRPC proxy path is what this benchmark measures.
    os.environ.setdefault("RAY_SERVE_ENABLE_DIRECT_INGRESS", "0")
    import ray
    from ray import serve
    from ray.serve.config import gRPCOptions

    port = _free_port()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    serve.start(
        http_options={"host": "127.0.0.1", "port": _free_port()},
        grpc_options=gRPCOptions(port=port, grpc_servicer_functions=[SERVICER]),
    )
    serve.run(build(topology), name=APP, route_prefix="/bench")
    _wait_until_answering(port)
    print(f"{READY}{port}", flush=True)
    try:
        sys.stdin.read()  # until the bench closes our stdin
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
