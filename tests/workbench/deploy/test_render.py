"""`tutti deploy render`: what it writes, the image each stage runs in, and the flags it takes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.workbench.deploy.rendered import (
    DEPLOY,
    DESK,
    QUICKSTART,
    ROOT,
    Document,
    by_name,
    kustomize,
    pods,
    router_endpoints,
    validate,
)
from tutti.errors import TuttiError
from workbench.cli import main
from workbench.deploy import (
    MERGER_IMAGE,
    ROUTER_IMAGE,
    SPECIALIST_IMAGES,
    render,
    resource_name,
)


def _images(documents: list[Document]) -> dict[str, str]:
    return {n: p["spec"]["containers"][0]["image"] for n, p in pods(documents).items()}


def test_the_output_names_nothing_outside_itself(tmp_path: Path) -> None:
    """No file of the render points into the checkout, by absolute or by escaping path
    (comments aside: the header says which composition to render again)."""
    out = render(DESK, "dev", tmp_path / "out")
    for file in out.rglob("*.yaml"):
        lines = file.read_text().splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        assert str(ROOT) not in text, file
        depth = len(file.relative_to(out).parts) - 1
        assert "../" * (depth + 1) not in text, file


def test_render_again_drops_what_deploy_no_longer_has(tmp_path: Path) -> None:
    out = render(QUICKSTART, "dev", tmp_path / "out")
    (out / "base" / "stale.yaml").write_text("kind: Nothing\n")
    render(QUICKSTART, "dev", out)
    assert not (out / "base" / "stale.yaml").exists()
    assert (out / "base" / "composition.yaml").read_text() == QUICKSTART.read_text()


def test_the_desk_strong_stage_runs_in_the_embeddings_image(tmp_path: Path) -> None:
    """The desk's strong model is a pipeline over sentence embeddings (its pickle names
    specialist_service._embedding); every other desk stage needs scikit-learn only."""
    if not (DESK.parent / "models" / "strong" / "model.joblib").is_file():
        pytest.skip("the desk's models are not trained (tutti demo trains them)")
    images = _images(kustomize(render(DESK, "prod", tmp_path / "out")))
    assert images.pop(resource_name("strong")) == SPECIALIST_IMAGES["embeddings"]
    assert images.pop("tutti-router") == ROUTER_IMAGE
    assert images.pop("tutti-merger") == MERGER_IMAGE
    assert set(images.values()) == {SPECIALIST_IMAGES["sklearn"]}


STAGES = """\
composition: images
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
{stages}
flow: {{sequence: [{first}]}}
"""


def test_each_stage_runs_in_the_smallest_image_its_files_need(tmp_path: Path) -> None:
    """Read from the files, never imported or unpickled: a joblib pipeline naming the
    embedder (past its raw numpy arrays), a sentence-transformers folder, a .gguf, a factory
    module importing llama_cpp; plain scikit-learn otherwise."""
    joblib = pytest.importorskip("joblib")
    numpy = pytest.importorskip("numpy")
    from specialist_service._embedding import SentenceEmbedder

    (tmp_path / "embedded").mkdir()
    joblib.dump(
        {"weights": numpy.arange(4096.0), "embed": SentenceEmbedder()},
        tmp_path / "embedded" / "model.joblib",
    )
    joblib.dump({"weights": numpy.arange(64.0)}, tmp_path / "plain.joblib")
    (tmp_path / "minilm").mkdir()
    (tmp_path / "minilm" / "modules.json").write_text("[]")
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    (tmp_path / "local_llm.py").write_text("import llama_cpp\n\ndef make(): ...\n")
    (tmp_path / "plain.py").write_text("import json\n\ndef make(**options): ...\n")
    blocks = {
        "sk_embedded": "{backend: sklearn, model: embedded/model.joblib}",
        "sk_plain": "{backend: sklearn, model: plain.joblib}",
        "py_embedded": '{backend: python, factory: "plain:make", options: {model: embedded}}',
        "py_folder": '{backend: python, factory: "plain:make", options: {model: minilm}}',
        "py_gguf": '{backend: python, factory: "plain:make", options: {model: tiny.gguf}}',
        "py_llama": '{backend: python, factory: "local_llm:make"}',
        "py_plain": '{backend: python, factory: "plain:make"}',
    }
    stages = "\n".join(
        f"  {name}:\n    input: tutti.v1.Text\n    output: tutti.v1.Classification\n"
        f"    serve: {block}"
        for name, block in blocks.items()
    )
    composition = tmp_path / "composition.yaml"
    composition.write_text(STAGES.format(stages=stages, first="sk_plain"))
    images = _images(kustomize(render(composition, "dev", tmp_path / "out")))
    wanted = {
        "sk_embedded": "embeddings",
        "sk_plain": "sklearn",
        "py_embedded": "embeddings",
        "py_folder": "embeddings",
        "py_gguf": "llm",
        "py_llama": "llm",
        "py_plain": "sklearn",
    }
    assert {s: images[resource_name(s)] for s in wanted} == {
        s: SPECIALIST_IMAGES[role] for s, role in wanted.items()
    }


def test_an_image_flag_overrides_one_stage(tmp_path: Path) -> None:
    out = render(DESK, "dev", tmp_path / "out", images={"cheap": "registry.example/cheap:1"})
    images = _images(kustomize(out))
    assert images[resource_name("cheap")] == "registry.example/cheap:1"
    assert images[resource_name("cards")] == SPECIALIST_IMAGES["sklearn"]
    with pytest.raises(TuttiError, match="--image names no served stage: nope"):
        render(DESK, "dev", tmp_path / "again", images={"nope": "x:1"})


def test_a_composition_change_renames_its_config_map(tmp_path: Path) -> None:
    changed = tmp_path / "composition.yaml"
    changed.write_text(DESK.read_text().replace("budget_ms: 20", "budget_ms: 25"))
    names = []
    for source, out in ((DESK, tmp_path / "a"), (changed, tmp_path / "b")):
        assert main(["deploy", "render", str(source), "--out", str(out)]) == 0
        maps = [
            n for n in by_name(kustomize(out), "ConfigMap") if n.startswith("tutti-composition-")
        ]
        assert len(maps) == 1
        names.append(maps[0])
    assert names[0] != names[1]


def test_base_composition_is_the_support_desk() -> None:
    assert (DEPLOY / "base" / "composition.yaml").read_text() == DESK.read_text()


def test_dev_has_jaeger_and_the_otel_settings(rendered: dict[str, list[Document]]) -> None:
    for case in ("dev", "desk-dev", "quickstart-dev"):
        assert "jaeger" in by_name(rendered[case], "Deployment")
        otel = by_name(rendered[case], "ConfigMap")["tutti-otel"]["data"]
        assert otel["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
    for case in ("prod", "desk-prod"):
        assert "jaeger" not in by_name(rendered[case], "Deployment")


@pytest.mark.parametrize(
    ("stage", "name"),
    [
        ("payments_disputes", "tutti-payments-disputes"),
        ("Top_Up", "tutti-top-up"),
        ("a__b", "tutti-a-b"),
    ],
)
def test_resource_names_are_dns_1123(stage: str, name: str) -> None:
    assert resource_name(stage) == name


def test_render_rejects_an_unknown_overlay(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["deploy", "render", str(DESK), "--overlay", "staging", "--out", str(tmp_path)])


def test_another_namespace_reaches_every_name(tmp_path: Path) -> None:
    assert main(["deploy", "render", str(DESK), "--namespace", "shop", "--out", str(tmp_path)]) == 0
    documents = kustomize(tmp_path)
    assert {d["metadata"].get("namespace", d["metadata"]["name"]) for d in documents} == {"shop"}
    assert all(".shop.svc.cluster.local:" in a for a in router_endpoints(documents).values())


def test_the_llm_desk_renders_with_its_drafter_and_an_optional_key_secret(tmp_path: Path) -> None:
    """examples/llm-desk: a gguf drafter; turned into an openai one, its pod reads the
    `<stage>-credentials` Secret (optional) for the key's variable, never the key itself,
    and runs in the image that has the openai backend's client."""
    llm_desk = ROOT / "examples" / "llm-desk"
    folder = tmp_path / "llm-desk"
    shutil.copytree(llm_desk, folder)
    composition = folder / "composition.yaml"
    data = yaml.safe_load(composition.read_text())
    data["stages"]["drafter"]["serve"] = {
        "backend": "openai",
        "openai": {
            "base_url": "http://vllm.models.svc:8000/v1",
            "model": "m",
            "prompt": "Reply to: {triage.ticket.text}",
            "api_key_env": "OPENAI_API_KEY",
            "text_field": "reply",
            "extend_input": True,
        },
    }
    composition.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["deploy", "render", str(composition), "--overlay", "dev", "--out", str(out)]) == 0
    documents = kustomize(out)
    validate(documents, tmp_path)
    containers = {n: p["spec"]["containers"][0] for n, p in pods(documents).items()}
    drafter = containers[resource_name("drafter")]
    assert drafter["image"] == SPECIALIST_IMAGES["llm"]
    assert {"secretRef": {"name": "tutti-drafter-credentials", "optional": True}} in drafter[
        "envFrom"
    ]
    assert not [
        c
        for n, c in containers.items()
        if n != resource_name("drafter")
        and any("secretRef" in source for source in c.get("envFrom", []))
    ]
