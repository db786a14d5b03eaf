"""A scikit-learn pipeline trained here, saved with joblib and served for real."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from specialist_service import build_backend, load_specialist_config
from tutti.errors import ConfigError
from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2, stage_pb2

if TYPE_CHECKING:
    from tests.specialist_service.conftest import Serve

TRAINING = [
    ("I was charged twice on my card", "billing"),
    ("please refund my last invoice", "billing"),
    ("the invoice amount is wrong", "billing"),
    ("my payment failed and I was charged", "billing"),
    ("the app crashes when I log in", "technical"),
    ("error message on startup", "technical"),
    ("the page will not load, error 500", "technical"),
    ("login button does nothing, app crashes", "technical"),
    ("how do I change my shipping address", "account"),
    ("update the email on my account", "account"),
    ("delete my account please", "account"),
    ("change my account password", "account"),
]


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    """A TF-IDF + logistic regression intent classifier on disk, next to where its config goes."""
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))
    pipeline.fit([text for text, _ in TRAINING], [label for _, label in TRAINING])
    path = tmp_path / "intent.joblib"
    joblib.dump(pipeline, path)
    return path


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "intent.yaml"
    text = "stage: intent\nbackend: sklearn\nmodel: intent.joblib\nprice: {per_call_usd: 0.0001}\n"
    path.write_text(text + extra, encoding="utf-8")
    return path


async def test_classifies_text_with_scores_summing_to_one(model_file: Path, serve: Serve) -> None:
    served = await serve(load_specialist_config(write_config(model_file.parent)))
    text = "I was charged twice, please refund"
    response = await served.stub.Invoke(
        stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text=text)))
    )
    decision = payloads_pb2.Classification()
    assert response.output.Unpack(decision)
    assert decision.label == "billing"
    assert set(decision.scores) == {"billing", "technical", "account"}
    assert sum(decision.scores.values()) == pytest.approx(1.0)
    assert decision.confidence == pytest.approx(max(decision.scores.values()))
    assert decision.confidence == pytest.approx(decision.scores["billing"])
    assert response.usage.input_tokens == 6
    assert response.usage.cost_usd == pytest.approx(0.0001)


async def test_model_version_is_the_hash_of_the_model_file(model_file: Path, serve: Serve) -> None:
    served = await serve(load_specialist_config(write_config(model_file.parent)))
    described = await served.stub.Describe(stage_pb2.DescribeRequest())
    expected = hashlib.sha256(model_file.read_bytes()).hexdigest()[:12]
    assert (described.model_card.name, described.model_card.version) == ("intent", expected)
    assert (described.input_type, described.output_type) == (
        "tutti.v1.Text",
        "tutti.v1.Classification",
    )
    response = await served.stub.Invoke(
        stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text="app crashes")))
    )
    assert (response.model.name, response.model.version) == ("intent", expected)


async def test_reads_the_configured_text_field_of_a_richer_input(
    model_file: Path, serve: Serve
) -> None:
    config = load_specialist_config(
        write_config(model_file.parent, "input: tutti.support.v1.Ticket\nversion: v2\n")
    )
    served = await serve(config)
    ticket = support_pb2.Ticket(id="T-9", text="the app crashes on startup", customer_id="c-1")
    response = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(ticket)))
    decision = payloads_pb2.Classification()
    assert response.output.Unpack(decision)
    assert decision.label == "technical"
    assert response.model.version == "v2"


def test_text_field_must_be_a_string_field_of_the_input(model_file: Path) -> None:
    config = load_specialist_config(write_config(model_file.parent, "text_field: body\n"))
    with pytest.raises(
        ConfigError, match=r"intent\.yaml:5: stage 'intent': text_field: tutti.v1.Text has no"
    ):
        build_backend(config)


def test_file_that_is_not_a_classifier_names_the_model_key(tmp_path: Path) -> None:
    joblib.dump({"weights": [1, 2, 3]}, tmp_path / "intent.joblib")
    with pytest.raises(
        ConfigError, match=r"intent\.yaml:3: .*model: .*has no predict_proba and classes_"
    ):
        build_backend(load_specialist_config(write_config(tmp_path)))


def test_pipeline_that_cannot_take_raw_strings_names_the_model_key(tmp_path: Path) -> None:
    """Fitted on numeric features, it fails the warm-up on text: an error, not a traceback."""
    numeric = LogisticRegression().fit(np.array([[0.0, 1.0], [1.0, 0.0]]), ["a", "b"])
    joblib.dump(numeric, tmp_path / "intent.joblib")
    with pytest.raises(
        ConfigError,
        match=r"intent\.yaml:3: .*model: .*cannot classify a list of strings: ValueError",
    ):
        build_backend(load_specialist_config(write_config(tmp_path)))


BURN_MS = 20.0


def burn_cpu(texts: list[str]) -> list[str]:
    """A pipeline step that spends BURN_MS of its thread's CPU time, then passes texts on."""
    start = time.thread_time()
    while time.thread_time() - start < BURN_MS / 1000:
        pass
    return texts


async def test_compute_ms_is_the_cpu_time_the_pipeline_spent(tmp_path: Path, serve: Serve) -> None:
    pipeline = make_pipeline(
        FunctionTransformer(burn_cpu), TfidfVectorizer(), LogisticRegression(C=10.0)
    )
    pipeline.fit([text for text, _ in TRAINING], [label for _, label in TRAINING])
    joblib.dump(pipeline, tmp_path / "intent.joblib")
    served = await serve(load_specialist_config(write_config(tmp_path)))
    response = await served.stub.Invoke(
        stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text="app crashes")))
    )
    # Measured in the worker thread that ran the pipeline: the event loop's idle wait
    # for it, or a field left unset, would read close to 0.
    assert response.usage.compute_ms >= BURN_MS


def test_file_that_is_not_joblib_names_the_model_key(tmp_path: Path) -> None:
    (tmp_path / "intent.joblib").write_text("not a pickle", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"intent\.yaml:3: .*model: cannot load"):
        build_backend(load_specialist_config(write_config(tmp_path)))
