"""`tutti deploy build` refuses a composition whose model files are not there, and says how."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.containers import ROOT

COMPOSITION = """\
composition: untrained
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  triage:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {backend: sklearn, model: models/triage/model.joblib}
flow:
  sequence: [triage]
"""


def tutti(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_a_missing_model_file_is_named_with_how_to_make_it_and_no_image_is_built(
    tmp_path: Path,
) -> None:
    composition = tmp_path / "composition.yaml"
    composition.write_text(COMPOSITION)
    # A base that does not exist: the check of the files comes before any docker build.
    result = tutti("deploy", "build", str(composition), "--base", "no-such-base:never")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "models/triage/model.joblib" in result.stderr
    assert "tutti train" in result.stderr  # what `tutti check` says to do
    assert "no models image was built" in result.stderr
    assert "docker build" not in result.stdout


def test_the_help_says_what_the_image_holds_and_how_a_pod_gets_the_files() -> None:
    result = tutti("deploy", "build", "--help")
    assert result.returncode == 0
    for taught in ("tutti-models-COMPOSITION:DIGEST", "/models/", "cp -a /models/.", "--base"):
        assert taught in result.stdout, taught
