"""`tutti serve` processes over mutual TLS, each with a plaintext health port for its probes.

The certificates are made in the test (tests/tutti/test_security.py): a CA,
a server certificate for 127.0.0.1 and localhost, a client certificate the
router presents to its stages, and a second CA nobody here trusts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import write_echo_composition
from tests.router_service.test_flow_nodes import output_text, text_request
from tests.router_service.waiting import until
from tests.stages import calls_started
from tests.tutti.test_security import Pki, make_pki
from tests.workbench.cli.running import QUICKSTART, ROOT, tutti
from tutti.v1 import payloads_pb2, router_pb2_grpc, stage_pb2, stage_pb2_grpc
from workbench.mesh import READY_PREFIX
from workbench.serve import HEALTH_PREFIX

START_S = 60.0
CALL_S = 10.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Serving:
    """One `tutti serve` process, read up to its ready line: its address and its health port's."""

    def __init__(self, *argv: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OTEL_SDK_DISABLED": "true"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workbench", "--log-level", "WARNING", "serve", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.health = ""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                _, stderr = self.process.communicate()
                raise RuntimeError(f"{argv} exited with {self.process.returncode}: {stderr}")
            if line.startswith(HEALTH_PREFIX):
                self.health = _local(line)
            if line.startswith(READY_PREFIX):
                self.address = _local(line)
                return
        raise RuntimeError(f"{argv} did not start")

    def stop(self) -> str:
        """Its stderr, once it has exited on SIGTERM."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr


def _local(line: str) -> str:
    """The address a line announces, reached on loopback (the certificates name 127.0.0.1)."""
    port = line.rsplit(":", 1)[1].strip()
    return f"127.0.0.1:{port}"


def _tls(pki: Pki) -> list[str]:
    return ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)]


def _router_tls(pki: Pki, ca: Path) -> list[str]:
    client = ["--tls-client-cert", str(pki.client.cert), "--tls-client-key", str(pki.client.key)]
    return ["--tls-ca", str(ca), *client]


def _specialist(tmp_path: Path, pki: Pki, factory: str, *flags: str) -> Serving:
    config = tmp_path / "stage.yaml"
    config.write_text(f'stage: echo\nbackend: python\nfactory: "tests.stages:{factory}"\n')
    mutual = [*_tls(pki), "--tls-client-ca", str(pki.ca.cert)]
    return Serving("specialist", "--config", str(config), *mutual, "--health-port", "0", *flags)


def _credentials(pki: Pki, with_certificate: bool = True) -> grpc.ChannelCredentials:
    if not with_certificate:
        return grpc.ssl_channel_credentials(pki.ca.cert.read_bytes())
    return grpc.ssl_channel_credentials(
        pki.ca.cert.read_bytes(), pki.client.key.read_bytes(), pki.client.cert.read_bytes()
    )


async def _status(
    address: str, service: str = "", credentials: grpc.ChannelCredentials | None = None
) -> int:
    channel = (
        aio.insecure_channel(address)
        if credentials is None
        else aio.secure_channel(address, credentials)
    )
    async with channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return (await health_pb2_grpc.HealthStub(channel).Check(request, timeout=CALL_S)).status


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def test_a_router_reaches_its_stage_over_mutual_tls_and_probes_use_plaintext_health(
    tmp_path: Path, pki: Pki
) -> None:
    stage = _specialist(tmp_path, pki, "echo")
    composition = write_echo_composition(tmp_path / "composition.yaml", f'"{stage.address}"')
    router = Serving(
        "router", "--config", str(composition), *_tls(pki), *_router_tls(pki, pki.ca.cert)
    )
    try:
        async with aio.secure_channel(router.address, _credentials(pki, False)) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            response = await stub.Route(text_request("over mTLS"), timeout=CALL_S)
            assert output_text(response) == "over mTLS"
        assert await _status(router.address, "", _credentials(pki, False)) == SERVING
        # The kubelet's probe: plaintext, on the health port; the stage's service by name too.
        assert await _status(stage.health) == SERVING
        assert await _status(stage.health, "tutti.v1.StageService") == SERVING
        # The main port keeps health for clients, over mutual TLS only.
        assert await _status(stage.address, "", _credentials(pki)) == SERVING
        for refused in (None, _credentials(pki, with_certificate=False)):
            with pytest.raises(aio.AioRpcError) as caught:
                await _status(stage.address, "", refused)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, refused
    finally:
        router.stop()
        stage.stop()


async def test_a_router_trusting_another_ca_fails_the_stage_call_naming_the_stage(
    tmp_path: Path, pki: Pki
) -> None:
    stage = _specialist(tmp_path, pki, "echo")
    composition = write_echo_composition(
        tmp_path / "composition.yaml", f'"{stage.address}"', "retry: false"
    )
    router = Serving(
        "router",
        "--config",
        str(composition),
        *_router_tls(pki, pki.other_ca.cert),
        "--health-port",
        "0",
    )
    try:
        async with aio.insecure_channel(router.address) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.Route(text_request("x"), timeout=CALL_S)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value
        details = caught.value.details() or ""
        assert details.startswith("stage 'echo': UNAVAILABLE"), details
        assert "handshake" in details.lower(), details  # what to look at: the certificates
        assert await _status(router.health) == SERVING
    finally:
        router.stop()
        stage.stop()


async def test_the_health_port_says_not_serving_while_a_stage_drains_on_sigterm(
    tmp_path: Path, pki: Pki
) -> None:
    """Bound on every address, TLS on the main port: no exposure warning for the health port."""
    started = tmp_path / "started"
    config = tmp_path / "slow.yaml"
    config.write_text(
        'stage: echo\nbackend: python\nfactory: "tests.stages:slow"\n'
        f"options: {{delay_ms: 600000, started: '{started}'}}\n"
    )
    mutual = [*_tls(pki), "--tls-client-ca", str(pki.ca.cert)]
    stage = Serving(
        "specialist",
        "--config",
        str(config),
        "--host",
        "0.0.0.0",
        *mutual,
        "--health-port",
        "0",
        "--grace",
        "600",
    )
    channel = aio.secure_channel(stage.address, _credentials(pki))
    try:
        request = stage_pb2.InvokeRequest()
        request.input.Pack(payloads_pb2.Text(text="in flight"))
        call = stage_pb2_grpc.StageServiceStub(channel).Invoke(request)
        await until(lambda: calls_started(started) == 1)
        assert await _status(stage.health) == SERVING
        stage.process.send_signal(signal.SIGTERM)
        # Polled against a deadline: the drain starts when the process reads its signal.
        deadline = time.monotonic() + CALL_S
        while (status := await _status(stage.health)) != NOT_SERVING:
            assert status == SERVING and time.monotonic() < deadline, status
        assert stage.process.poll() is None  # still draining the call in flight
        call.cancel()
        assert stage.process.wait(timeout=30) == 0
    finally:
        await channel.close()
        stderr = stage.stop()
    assert "plaintext" not in stderr, stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["router", "--health-port", "70000"], "a port is 0 to 65535, not 70000"),
        (["specialist", "--model-digest", "md5:abc"], "expected sha256: and 64 hex digits"),
        (
            ["router", "--config", QUICKSTART, "--model-digest", "sha256:" + "0" * 64],
            "--model-digest checks a specialist's model files; a router loads none",
        ),
    ],
)
def test_serve_refuses_a_bad_health_port_or_digest_before_starting(
    argv: list[str], message: str
) -> None:
    result = tutti("serve", *argv)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_serve_help_names_the_health_port_and_the_model_digest() -> None:
    help_text = tutti("serve", "--help").stdout
    assert "--health-port" in help_text and "--model-digest" in help_text
