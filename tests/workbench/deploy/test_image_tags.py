"""The role images are tagged with the package's version everywhere: in deploy/base, in every
render, in pyproject.toml and in build.sh, the script that tags them."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.workbench.deploy.conftest import CASES
from tests.workbench.deploy.rendered import ROOT, Document, pods
from workbench.deploy import VERSION

ROLE_IMAGE = re.compile(r"tutti-(router|merger|specialist-[a-z]+):(?P<tag>.+)")


def test_the_version_is_pyprojects_and_build_shs_default() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION
    build = (ROOT / "deploy" / "images" / "build.sh").read_text()
    assert re.findall(r"^version=(\S+)$", build, re.MULTILINE) == [VERSION]


@pytest.mark.parametrize("case", CASES)
def test_every_role_image_is_tagged_with_the_version(
    rendered: dict[str, list[Document]], case: str
) -> None:
    """Both overlays alone (deploy/base's router) and every render: no role image left behind."""
    images = [
        container["image"]
        for pod in pods(rendered[case]).values()
        for container in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]
    ]
    tags = {m["tag"] for m in map(ROLE_IMAGE.fullmatch, images) if m is not None}
    assert tags == {VERSION}, images
