"""A specialist given --model-digest serves only the model files the digest names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from grpc import aio

from specialist_service import ModelDigestError, SpecialistConfig, check_model_digest, stage_files
from tests.faults.test_faults import ROOT, Service
from tutti.digest import tree_digest
from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc
from workbench.serve_blocks import stage_config

COMPOSITION = """\
composition: desk
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  answer:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Text
    serve: {backend: python, factory: "desk_model:build"}
flow: answer
"""

# A factory beside the composition, reading a file it names: both are the stage's model files.
MODULE = """\
from pathlib import Path


class Answer:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def predict(self, msg):
        return type(msg)(text=self.prefix + msg.text)


def build(weights: str = "weights.txt"):
    return Answer(Path(__file__).with_name(weights).read_text().strip())
"""


def _composition(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk_model.py").write_text(MODULE)
    (folder / "weights.txt").write_text("v1:")
    path = folder / "composition.yaml"
    path.write_text(COMPOSITION)
    return path


def _rendered_digest(path: Path) -> str:
    """The digest as `tutti deploy render` computes it for the stage."""
    config = stage_config(path, "answer")
    return tree_digest(config.base_dir, stage_files(config))


def test_matching_files_pass_and_the_digest_covers_the_module_and_its_file(
    tmp_path: Path,
) -> None:
    path = _composition(tmp_path / "srv")
    config = stage_config(path, "answer")
    assert stage_files(config) == ["desk_model.py", "weights.txt"]
    expected = _rendered_digest(path)
    assert check_model_digest(config, expected) == expected


def test_one_changed_byte_is_refused_with_both_digests_and_the_remedy(tmp_path: Path) -> None:
    path = _composition(tmp_path / "srv")
    expected = _rendered_digest(path)
    (path.parent / "weights.txt").write_text("v2:")
    with pytest.raises(ModelDigestError) as caught:
        check_model_digest(stage_config(path, "answer"), expected)
    message = str(caught.value)
    assert message.startswith(f"{path}: stage 'answer': the model files differ"), message
    assert expected in message
    assert _rendered_digest(path) in message
    assert "desk_model.py, weights.txt" in message
    assert "tutti deploy build" in message and "tutti deploy render" in message


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "triage.joblib"
    model.write_bytes(b"trained")
    config = SpecialistConfig.from_mapping(
        {"backend": "sklearn", "model": "models/triage.joblib"},
        "composition.yaml",
        stage="triage",
        base_dir=tmp_path,
    )
    expected = tree_digest(tmp_path, stage_files(config))
    model.unlink()
    with pytest.raises(ModelDigestError, match=r"model files missing: models/triage\.joblib;"):
        check_model_digest(config, expected)


def test_a_specialist_whose_files_changed_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    path = _composition(tmp_path / "srv")
    expected = _rendered_digest(path)
    (path.parent / "weights.txt").write_text("retrained:")
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "serve", "specialist", "--config", str(path)]
        + ["--stage", "answer", "--model-digest", expected],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OTEL_SDK_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # never announced as serving
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tutti: configuration error: {path}: stage 'answer':"), lines
    assert expected in lines[0] and "Traceback" not in result.stderr


async def test_a_specialist_whose_files_match_serves_the_factory_beside_its_composition(
    tmp_path: Path,
) -> None:
    """The composition's folder is not on PYTHONPATH: serve finds the module beside it."""
    path = _composition(tmp_path / "srv")
    served = Service(
        "specialist",
        "--config",
        str(path),
        "--stage",
        "answer",
        "--model-digest",
        _rendered_digest(path),
    )
    channel = aio.insecure_channel(served.address)
    try:
        payload = any_pb2.Any()
        payload.Pack(payloads_pb2.Text(text="hello"))
        stub = stage_pb2_grpc.StageServiceStub(channel)
        response = await stub.Invoke(stage_pb2.InvokeRequest(input=payload), timeout=10)
        answer = payloads_pb2.Text()
        assert response.output.Unpack(answer)
        assert answer.text == "v1:hello"
    finally:
        await channel.close()
        served.stop()
