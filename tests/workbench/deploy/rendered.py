"""Rendered manifests read back: kustomize, kubernetes-validate, and lookups by kind, name and
label selector, for the deploy tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
QUICKSTART = ROOT / "examples" / "quickstart" / "composition.yaml"
DESK = ROOT / "examples" / "support-desk" / "composition.yaml"
USER_TYPES = ROOT / "tests" / "clients" / "user_types" / "composition.yaml"
COMPOSITIONS = {"quickstart": QUICKSTART, "desk": DESK, "user-types": USER_TYPES}
# The Kubernetes version the manifests must be valid for (bundled by kubernetes-validate).
KUBERNETES = "1.34.0"
BIN = Path(sys.executable).parent

Document = dict[str, Any]


def _tool(name: str) -> str:
    """kubectl or kubernetes-validate: the dev extra installs both, so one missing fails."""
    found = BIN / name
    if found.is_file():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed, so the manifests cannot be checked: it comes with the"
            " dev extra (make install, or pip install -e '.[dev]')",
            pytrace=False,
        )
    return path


def kustomize(folder: Path) -> list[Document]:
    result = subprocess.run(
        [_tool("kubectl"), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate(documents: list[Document], tmp_path: Path) -> None:
    file = tmp_path / "all.yaml"
    file.write_text(yaml.safe_dump_all(documents))
    result = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES, str(file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def of_kind(documents: list[Document], kind: str) -> list[Document]:
    return [d for d in documents if d["kind"] == kind]


def by_name(documents: list[Document], kind: str) -> dict[str, Document]:
    return {d["metadata"]["name"]: d for d in of_kind(documents, kind)}


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions, or a Service's plain map)."""
    plain = (
        selector.get("matchLabels", {})
        if "matchLabels" in selector or "matchExpressions" in selector
        else selector
    )
    if any(labels.get(k) != v for k, v in plain.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pods(documents: list[Document]) -> dict[str, Document]:
    """Deployment name -> pod template."""
    return {name: d["spec"]["template"] for name, d in by_name(documents, "Deployment").items()}


def tutti_pods(documents: list[Document]) -> dict[str, Document]:
    return {
        name: pod
        for name, pod in pods(documents).items()
        if pod["metadata"]["labels"].get("app.kubernetes.io/part-of") == "tutti"
        and "app.kubernetes.io/component" in pod["metadata"]["labels"]
    }


def flag(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in a container's args (the last one)."""
    found = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(name + "="):
            found = arg.partition("=")[2]
    return found


def router_endpoints(documents: list[Document]) -> dict[str, str]:
    """The `--endpoint STAGE=ADDRESS` arguments of the rendered router, by stage."""
    args = pods(documents)["tutti-router"]["spec"]["containers"][0]["args"]
    found: dict[str, str] = {}
    for index, arg in enumerate(args):
        value = arg.removeprefix("--endpoint=") if arg.startswith("--endpoint=") else None
        if arg == "--endpoint":
            value = args[index + 1]
        if value is not None:
            stage, _, address = value.partition("=")
            found[stage] = address
    return found
