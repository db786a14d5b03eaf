"""The oip backend against a real MLServer: a support-desk model served over the Open Inference Protocol."""

from __future__ import annotations

import json
import shutil
import struct
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import joblib
import pytest
import yaml
from google.protobuf import field_mask_pb2, wrappers_pb2  # noqa: F401  (registers their types)
from grpc import aio

from inference import grpc_predict_v2_pb2 as oip
from specialist_service import _oip_tensors, build_backend, load_specialist_config, training
from tests.conftest import start_mesh, start_stage
from tests.mlserver import RunningMLServer, custom_model, sklearn_model, start_mlserver
from tutti.errors import ConfigError, StageDeadlineError
from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2, router_pb2, stage_pb2, stage_pb2_grpc
from workbench.demo import DESK, ensure_models, sample_tickets

# Training the small desk models and starting MLServer happen once, in the first test.
pytestmark = pytest.mark.timeout(300)

PER_LABEL = 20

# Runtimes MLServer imports from the root of the folder it serves.
RUNTIMES = '''
import asyncio

from mlserver import MLModel
from mlserver.codecs import StringCodec
from mlserver.types import InferenceResponse, ResponseOutput


class Echo(MLModel):
    """Facts about a text, one tensor of each kind."""

    async def load(self):
        return True

    async def predict(self, payload):
        text = StringCodec.decode_input(payload.inputs[0])[0]
        words = text.split()
        outputs = [
            ResponseOutput(name="upper", datatype="BYTES", shape=[1], data=[text.upper().encode()]),
            ResponseOutput(
                name="words", datatype="BYTES", shape=[1, len(words)], data=[w.encode() for w in words]
            ),
            ResponseOutput(name="length", datatype="INT64", shape=[1], data=[len(text)]),
            ResponseOutput(name="question", datatype="BOOL", shape=[1], data=[text.endswith("?")]),
            ResponseOutput(name="half", datatype="FP32", shape=[1], data=[len(text) / 2]),
        ]
        wanted = {o.name for o in payload.outputs or []}
        return InferenceResponse(
            model_name=self.name, outputs=[o for o in outputs if o.name in wanted]
        )


class Slow(MLModel):
    """Answers after sleep_s; declares no tensors."""

    async def load(self):
        return True

    async def predict(self, payload):
        await asyncio.sleep(float(self.settings.parameters.extra["sleep_s"]))
        return InferenceResponse(
            model_name=self.name,
            outputs=[ResponseOutput(name="upper", datatype="BYTES", shape=[1], data=[b"LATE"])],
        )
'''

ECHO_TENSORS = {
    "inputs": [
        {"name": "text", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "str"}}
    ],
    "outputs": [
        {"name": "upper", "datatype": "BYTES", "shape": [-1]},
        {"name": "words", "datatype": "BYTES", "shape": [-1, -1]},
        {"name": "length", "datatype": "INT64", "shape": [-1]},
        {"name": "question", "datatype": "BOOL", "shape": [-1]},
        {"name": "half", "datatype": "FP32", "shape": [-1]},
    ],
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The support desk with small models, trained here (as in tests/workbench/demo)."""
    folder = tmp_path_factory.mktemp("support-desk")
    for name in ("composition.yaml", "desk.py", "departments.yaml", "macros.yaml"):
        shutil.copy(DESK / name, folder / name)
    ensure_models(folder, per_label=PER_LABEL, log=lambda _: None)
    return folder


@pytest.fixture(scope="module")
def mlserver(desk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMLServer]:
    """One MLServer for the module: the desk's triage model, and the echo and slow runtimes."""
    folder = tmp_path_factory.mktemp("mlserver")
    card = json.loads((desk / "models" / "triage" / "model.json").read_text())
    sklearn_model(folder, "triage", desk / "models" / "triage" / "model.joblib",
                  card["version"], classes=len(card["labels"]))  # fmt: skip
    (folder / "oip_runtimes.py").write_text(RUNTIMES)
    custom_model(folder, "echo", "oip_runtimes.Echo", **ECHO_TENSORS)
    custom_model(folder, "slow", "oip_runtimes.Slow", extra={"sleep_s": 5})
    server = start_mlserver(folder, ["triage", "echo", "slow"])
    yield server
    server.stop()


def write_config(folder: Path, text: str, name: str = "stage.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def triage_config(folder: Path, target: str, desk: Path, **oip_keys: Any) -> Path:
    """The triage stage served by MLServer: Ticket -> Classification, labels from model.json."""
    section = {
        "target": target,
        "model": "triage",
        "inputs": {"text": "text"},
        "outputs": {"predict_proba": {"labels": str(desk / "models" / "triage" / "model.json")}},
        "startup_timeout_s": 5,
        **oip_keys,
    }
    data = {
        "stage": "triage",
        "backend": "oip",
        "input": "tutti.support.v1.Ticket",
        "output": "tutti.v1.Classification",
        "oip": section,
    }
    path = folder / "triage.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tickets(desk: Path, count: int) -> list[support_pb2.Ticket]:
    departments = training.read_departments(desk / "departments.yaml")
    return [
        support_pb2.Ticket(id=t.id, text=t.text)
        for t in sample_tickets(count, seed=11, departments=departments)
    ]


async def test_triage_on_mlserver_decides_exactly_as_the_in_process_sklearn_backend(
    desk: Path, mlserver: RunningMLServer, tmp_path: Path
) -> None:
    model = desk / "models" / "triage"
    labels = json.loads((model / "model.json").read_text())["labels"]
    local = write_config(tmp_path, f"""\
        stage: triage
        backend: sklearn
        model: {model / "model.joblib"}
        input: tutti.support.v1.Ticket
    """, "local.yaml")  # fmt: skip
    in_process = build_backend(load_specialist_config(local))
    # model.json's labels are the pipeline's classes_, the column order of predict_proba.
    assert labels == list(joblib.load(model / "model.joblib").classes_)
    remote = build_backend(
        load_specialist_config(triage_config(tmp_path, mlserver.grpc_target, desk))
    )
    try:
        batch = tickets(desk, 80)
        for ticket in batch:
            want = (await in_process.predict(ticket)).output
            got = (await remote.predict(ticket, timeout=10)).output
            assert got.label == want.label, ticket.text
            assert got.confidence == pytest.approx(want.confidence, abs=1e-9, rel=0)
            assert set(got.scores) == set(labels)
            for label in labels:
                assert got.scores[label] == pytest.approx(want.scores[label], abs=1e-9, rel=0)
        assert len({(await remote.predict(t)).output.label for t in batch}) > 1
    finally:
        await remote.aclose()


async def test_stage_reports_the_model_version_mlserver_declares(
    desk: Path, mlserver: RunningMLServer, tmp_path: Path
) -> None:
    card = json.loads((desk / "models" / "triage" / "model.json").read_text())
    server, _ = await start_stage(triage_config(tmp_path, mlserver.grpc_target, desk))
    try:
        async with aio.insecure_channel(server.address) as channel:
            stub = stage_pb2_grpc.StageServiceStub(channel)
            described = await stub.Describe(stage_pb2.DescribeRequest())
            ticket = support_pb2.Ticket(id="t-1", text="my card has not arrived yet")
            response = await stub.Invoke(stage_pb2.InvokeRequest(input=pack(ticket)), timeout=10)
    finally:
        await server.stop(0)
    assert (described.model_card.name, described.model_card.version) == ("triage", card["version"])
    assert (response.model.name, response.model.version) == ("triage", card["version"])
    assert described.input_type == "tutti.support.v1.Ticket"
    assert response.usage.compute_ms == 0.0  # not measurable from the client side


async def test_support_desk_with_triage_on_mlserver_resolves_every_ticket_alike(
    desk: Path, mlserver: RunningMLServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The composition unchanged but for triage's serve block: the same macros and departments.

    Both runs get budgets too wide to bind, so that a strong model late on a busy
    machine (the fan-out merges without it) cannot make them differ.
    """
    monkeypatch.syspath_prepend(str(desk))  # the in-loop stages import desk.py, as `tutti up` does
    data = yaml.safe_load((desk / "composition.yaml").read_text())
    data["budget"]["latency_ms"] = 60_000
    data["flows"]["cheap_and_strong"]["fanout"]["budget_ms"] = 30_000
    in_process_path = desk / "composition-wide.yaml"
    in_process_path.write_text(yaml.safe_dump(data, sort_keys=False))
    data["stages"]["triage"]["serve"] = {
        "backend": "oip",
        "name": "triage-tfidf",
        "oip": {
            "target": mlserver.grpc_target,
            "model": "triage",
            "inputs": {"text": "text"},
            "outputs": {"predict_proba": {"labels": "models/triage/model.json"}},
        },
    }
    served = desk / "composition-oip.yaml"
    served.write_text(yaml.safe_dump(data, sort_keys=False))
    batch = tickets(desk, 40)

    async def resolve(path: Path) -> list[tuple[str, str, str, bool, list[str]]]:
        mesh = await start_mesh(path)
        try:
            decisions = []
            for ticket in batch:
                request = router_pb2.RouteRequest(composition="support-desk", input=pack(ticket))
                response = await mesh.stub.Route(request, timeout=30)
                resolution = support_pb2.Resolution()
                assert response.output.Unpack(resolution)
                decisions.append((
                    resolution.macro,
                    resolution.triage.department,
                    resolution.triage.intent.label,
                    resolution.escalate_to_human,
                    list(response.execution.path),
                ))  # fmt: skip
            return decisions
        finally:
            await mesh.close()

    in_process = await resolve(in_process_path)
    on_mlserver = await resolve(served)
    assert on_mlserver == in_process
    assert len({d[1] for d in in_process}) > 2  # the sample reaches several departments


@pytest.mark.parametrize(
    ("output_type", "tensor", "field", "expected"),
    [
        ("tutti.v1.Completion", "upper", "text", "IS MY CARD BLOCKED?"),
        ("google.protobuf.FieldMask", "words", "paths", ["is", "my", "card", "blocked?"]),
        ("google.protobuf.Int64Value", "length", "value", 19),
        ("google.protobuf.BoolValue", "question", "value", True),
        ("google.protobuf.DoubleValue", "half", "value", 9.5),
    ],
)
async def test_tensors_fill_scalar_and_repeated_fields_of_their_datatype(
    mlserver: RunningMLServer,
    tmp_path: Path,
    output_type: str,
    tensor: str,
    field: str,
    expected: object,
) -> None:
    config = write_config(tmp_path, f"""\
        stage: echo
        backend: oip
        input: tutti.v1.Text
        output: {output_type}
        oip: {{target: "{mlserver.grpc_target}", model: echo, inputs: {{text: text}},
               outputs: {{{tensor}: {field}}}}}
    """)  # fmt: skip
    backend = build_backend(load_specialist_config(config))
    try:
        answer = (await backend.predict(payloads_pb2.Text(text="is my card blocked?"))).output
    finally:
        await backend.aclose()
    assert answer.DESCRIPTOR.full_name == output_type
    value = getattr(answer, field)
    assert (list(value) if isinstance(expected, list) else value) == expected


@pytest.mark.parametrize(
    ("oip_keys", "error"),
    [
        (
            {"inputs": {"txt": "text"}},
            (
                r"triage\.yaml:\d+: stage 'triage': oip\.inputs\.txt: model triage has no input"
                r" tensor 'txt'; it has: text"
            ),
        ),
        (
            {"outputs": {"predict_proba": "label"}},
            (
                r"oip\.outputs\.predict_proba: output tensor 'predict_proba' of model triage is FP64,"
                r" which cannot fill label \(string\); that takes BYTES"
            ),
        ),
        (
            {"outputs": {"proba": {"labels": ["a", "b"]}}},
            (
                r"oip\.outputs\.proba: model triage has no output tensor 'proba'; it has: predict,"
                r" predict_proba"
            ),
        ),
        (
            {"outputs": {"predict_proba": {"labels": ["cards", "cash"]}}},
            (
                r"oip\.outputs\.predict_proba\.labels: 2 labels, but output tensor 'predict_proba'"
                r" has 7 classes"
            ),
        ),
        ({"model": "nobody"}, r"oip\.model: model nobody at 127\.0\.0\.1:\d+"),
    ],
    ids=["input-name", "output-datatype", "output-name", "label-count", "unknown-model"],
)
def test_a_mapping_the_model_metadata_contradicts_is_a_config_error_naming_the_key(
    desk: Path, mlserver: RunningMLServer, tmp_path: Path, oip_keys: dict[str, Any], error: str
) -> None:
    config = load_specialist_config(triage_config(tmp_path, mlserver.grpc_target, desk, **oip_keys))
    with pytest.raises(ConfigError, match=error):
        build_backend(config)


def test_an_integer_tensor_wider_than_its_field_is_a_config_error(
    mlserver: RunningMLServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, f"""\
        stage: echo
        backend: oip
        input: tutti.v1.Text
        output: google.protobuf.Int32Value
        oip: {{target: "{mlserver.grpc_target}", model: echo, inputs: {{text: text}},
               outputs: {{length: value}}}}
    """)  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"oip\.outputs\.length: output tensor 'length' of model echo is INT64, which cannot"
        r" fill value \(int32\); that takes INT8, INT16, INT32, UINT8, UINT16",
    ):
        build_backend(load_specialist_config(config))


def test_an_unreachable_server_is_a_config_error_naming_the_target_promptly(
    desk: Path, tmp_path: Path
) -> None:
    from tests.mlserver import free_port

    config = triage_config(tmp_path, f"127.0.0.1:{free_port()}", desk, startup_timeout_s=1)
    started = time.monotonic()
    with pytest.raises(
        ConfigError,
        match=r"oip\.target: no inference server answered at 127\.0\.0\.1:\d+ within 1s",
    ):
        build_backend(load_specialist_config(config))
    assert time.monotonic() - started < 5


async def test_a_call_past_its_deadline_fails_with_deadline_exceeded_not_a_hang(
    mlserver: RunningMLServer, tmp_path: Path
) -> None:
    """The slow model declares no tensors: the mapping is trusted, and the caller's deadline binds."""
    config = write_config(tmp_path, f"""\
        stage: slow
        backend: oip
        input: tutti.v1.Text
        output: tutti.v1.Completion
        oip: {{target: "{mlserver.grpc_target}", model: slow, inputs: {{text: text}},
               outputs: {{upper: text}}, timeout_s: 0.3}}
    """)  # fmt: skip
    server, _ = await start_stage(config)
    try:
        async with aio.insecure_channel(server.address) as channel:
            stub = stage_pb2_grpc.StageServiceStub(channel)
            request = stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text="hello")))
            started = time.monotonic()
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.Invoke(request, timeout=0.5)
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert time.monotonic() - started < 2
    finally:
        await server.stop(0)

    # Without a caller's deadline, timeout_s bounds the call; the error says which model.
    backend = build_backend(load_specialist_config(config))
    try:
        started = time.monotonic()
        with pytest.raises(
            StageDeadlineError, match=r"model slow at .* did not answer within 0\.3s"
        ):
            await backend.predict(payloads_pb2.Text(text="hello"))
        assert time.monotonic() - started < 2
        with pytest.raises(StageDeadlineError) as tiny:
            await backend.predict(payloads_pb2.Text(text="hello"), timeout=0.001)
        assert tiny.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        await backend.aclose()


def test_raw_output_contents_decode_like_typed_ones() -> None:
    """Servers may answer in raw little-endian bytes (MLServer does when asked in raw)."""
    fp64 = oip.ModelInferResponse.InferOutputTensor(name="p", datatype="FP64", shape=[1, 2])
    assert _oip_tensors.output_values(fp64, struct.pack("<2d", 0.25, 0.75)) == [0.25, 0.75]
    words = oip.ModelInferResponse.InferOutputTensor(name="w", datatype="BYTES", shape=[1, 2])
    raw = b"".join(struct.pack("<I", len(w)) + w for w in (b"card", b"lost"))
    assert _oip_tensors.output_values(words, raw) == [b"card", b"lost"]
