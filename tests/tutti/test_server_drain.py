"""A `tutti serve` process drains on SIGTERM: in-flight calls answered, new ones refused, exit 0."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.stages import calls_started
from tests.tutti.test_server import (
    NOT_SERVING,
    PROMPTLY_S,
    ROOT,
    SERVING,
    eventually,
    invoke_request,
    output_text,
)
from tutti.v1 import stage_pb2, stage_pb2_grpc
from workbench.mesh import READY_PREFIX


@pytest.fixture
def slow_specialist_config(tmp_path: Path) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            stage: slow
            backend: python
            factory: "tests.stages:slow"
            options: {delay_ms: 1500, started: STARTED}
            """
        ).replace("STARTED", str(tmp_path / "started"))
    )
    return path


async def test_sigterm_drains_in_flight_calls_refuses_new_ones_and_exits_zero(
    slow_specialist_config: Path, tmp_path: Path
) -> None:
    argv = ["-m", "workbench", "--log-level", "INFO", "serve", "specialist"]
    argv += ["--config", str(slow_specialist_config), "--grace", "10"]
    log = tmp_path / "specialist.log"
    with log.open("w") as stderr:
        # cwd is the repository, so the child imports tests.stages as we do.
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith(READY_PREFIX), f"no ready line; log:\n{log.read_text()}"
        address = line.strip().rsplit(" on ", 1)[1]
        assert address.startswith("127.0.0.1:")

        async with aio.insecure_channel(address) as channel:
            stage = stage_pb2_grpc.StageServiceStub(channel)
            await stage.Describe(stage_pb2.DescribeRequest(), timeout=PROMPTLY_S)
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == SERVING

            texts = [f"call {i}" for i in range(5)]
            calls = [asyncio.ensure_future(stage.Invoke(invoke_request(t))) for t in texts]
            # The model takes 1.5 s to answer; SIGTERM goes once every call is with it.
            started = slow_specialist_config.parent / "started"
            await eventually(lambda: calls_started(started) == len(texts), "calls in flight")
            process.send_signal(signal.SIGTERM)

            changed = await asyncio.wait_for(watch.read(), PROMPTLY_S)
            assert changed.status == NOT_SERVING
            watch.cancel()
            # A client that was not already connected finds nobody listening.
            options = [("grpc.use_local_subchannel_pool", 1)]
            async with aio.insecure_channel(address, options=options) as late:
                with pytest.raises(aio.AioRpcError) as caught:
                    await stage_pb2_grpc.StageServiceStub(late).Invoke(
                        invoke_request("too late"), timeout=PROMPTLY_S
                    )
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE

            responses = await asyncio.wait_for(asyncio.gather(*calls), PROMPTLY_S)
            assert [output_text(r) for r in responses] == texts

        code = await asyncio.wait_for(process.wait(), PROMPTLY_S)
        assert code == 0, f"exit code {code}; log:\n{log.read_text()}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
