"""A real MLServer (Open Inference Protocol v2) on loopback, serving models written into a folder.

MLServer pins protobuf<7, so it runs from its own virtualenv, `.venv-mlserver`
(`make mlserver` creates it), as a subprocess.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from inference import grpc_predict_v2_pb2 as oip
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

ROOT = Path(__file__).resolve().parents[1]
MLSERVER = ROOT / ".venv-mlserver" / "bin" / "mlserver"
START_TIMEOUT_S = 90.0


def mlserver_executable() -> Path:
    """The MLServer of `make mlserver`; the test is skipped, saying so, when it is not there."""
    if not MLSERVER.is_file():
        pytest.skip(f"MLServer is not installed at {MLSERVER}; run `make mlserver`")
    return MLSERVER


def sklearn_model(
    folder: Path,
    name: str,
    model_file: Path,
    version: str,
    classes: int,
    text_tensor: str = "text",
) -> Path:
    """A model folder serving a joblib scikit-learn text classifier with mlserver-sklearn.

    The input is declared as strings (content type `str`), so the pipeline gets a
    list of str; `predict_proba` is declared as an FP64 output of `classes` columns.
    """
    target = folder / name
    target.mkdir(parents=True)
    (target / "model.joblib").write_bytes(model_file.read_bytes())
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        # `versions` is what ModelMetadata lists; `parameters.version` what answers carry.
        "versions": [version],
        "parameters": {"uri": "./model.joblib", "version": version},
        "inputs": [
            {
                "name": text_tensor,
                "datatype": "BYTES",
                "shape": [-1],
                "parameters": {"content_type": "str"},
            }
        ],
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, classes]},
        ],
    }
    (target / "model-settings.json").write_text(json.dumps(settings, indent=2))
    return target


def custom_model(
    folder: Path,
    name: str,
    implementation: str,
    inputs: Sequence[Mapping[str, object]] = (),
    outputs: Sequence[Mapping[str, object]] = (),
    extra: Mapping[str, object] | None = None,
) -> Path:
    """A model folder for a runtime class in a module at the root of the served folder."""
    target = folder / name
    target.mkdir(parents=True)
    settings: dict[str, object] = {
        "name": name,
        "implementation": implementation,
        "inputs": list(inputs),
        "outputs": list(outputs),
        "parameters": {"extra": dict(extra or {})},
    }
    (target / "model-settings.json").write_text(json.dumps(settings, indent=2))
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningMLServer:
    process: subprocess.Popen[bytes]
    grpc_target: str
    log: Path
    start_s: float

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_mlserver(folder: Path, models: Sequence[str]) -> RunningMLServer:
    """`mlserver start folder` on free loopback ports; returns once every model is ready."""
    executable = mlserver_executable()
    grpc_port, http_port = free_port(), free_port()
    settings = {
        "host": "127.0.0.1",
        "grpc_port": grpc_port,
        "http_port": http_port,
        # No metrics server (it would want a port of its own), and inference in the
        # server process itself: one process to start and to stop.
        "metrics_endpoint": None,
        "parallel_workers": 0,
        "load_models_at_startup": True,
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    log = folder / "mlserver.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), "start", str(folder)],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = RunningMLServer(process, f"127.0.0.1:{grpc_port}", log, 0.0)
    try:
        _wait_ready(server, models, started + START_TIMEOUT_S)
    except BaseException:
        server.stop()
        raise
    server.start_s = time.monotonic() - started
    return server


def _wait_ready(server: RunningMLServer, models: Sequence[str], deadline: float) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = GRPCInferenceServiceStub(channel)

        def server_ready() -> bool:
            try:
                return stub.ServerReady(oip.ServerReadyRequest(), timeout=2).ready
            except grpc.RpcError:
                return False

        def model_ready(name: str) -> bool:
            try:
                return stub.ModelReady(oip.ModelReadyRequest(name=name), timeout=2).ready
            except grpc.RpcError:
                return False

        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(f"MLServer exited with {server.process.returncode}:\n{_tail(server)}")
            if server_ready() and all(model_ready(m) for m in models):
                return
            time.sleep(0.2)
    pytest.fail(f"MLServer was not ready within {START_TIMEOUT_S:g}s:\n{_tail(server)}")


def _tail(server: RunningMLServer) -> str:
    return "\n".join(server.log.read_text(errors="replace").splitlines()[-40:])
