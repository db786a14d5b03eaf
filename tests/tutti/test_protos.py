"""The protos and their generated modules: fresh, lint-clean, and laid out by package."""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
GENERATED_ROOTS = ("tutti", "buf", "inference")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
OWN_PACKAGES = ("tutti.v1", "tutti.support.v1")


def generated_files(root: Path) -> dict[str, bytes]:
    """Every generated module under `root`'s tutti/ and buf/, by path relative to `root`."""
    found: dict[str, bytes] = {}
    for top in GENERATED_ROOTS:
        for path in (root / top).rglob("*"):
            if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def run_generate(script: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(script), *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{script.name} {' '.join(args)} failed:\n{result.stderr}"


def buf_executable() -> str:
    """buf from the buf-bin package, installed beside this interpreter."""
    found = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    if found is None:
        pytest.fail("buf is not installed; install the dev extras (buf-bin)")
    return found


def buf_lint(image: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            buf_executable(),
            "lint",
            str(image),
            "--path",
            "tutti",
            "--config",
            str(PROTOS / "buf.yaml"),
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # Keep buf's cache out of the user's home.
        env={**os.environ, "BUF_CACHE_DIR": str(tmp_path / "buf-cache")},
    )


def test_committed_generated_modules_match_a_fresh_generation(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    run_generate(PROTOS / "generate.py", "--out", str(out))
    fresh = generated_files(out)
    committed = generated_files(ROOT)
    assert fresh, "protos/generate.py wrote no modules"

    missing = sorted(fresh.keys() - committed.keys())
    extra = sorted(committed.keys() - fresh.keys())
    differing = sorted(p for p in fresh.keys() & committed.keys() if fresh[p] != committed[p])
    stale = [f"  not committed: {p}" for p in missing]
    stale += [f"  no longer generated: {p}" for p in extra]
    stale += [f"  differs: {p}" for p in differing]
    assert not stale, (
        "the committed generated modules are stale; run `python protos/generate.py`:\n"
        + "\n".join(stale)
    )


def test_buf_lint_passes_on_our_protos(tmp_path: Path) -> None:
    image = tmp_path / "image.binpb"
    run_generate(PROTOS / "generate.py", "--image", str(image))
    result = buf_lint(image, tmp_path)
    assert result.returncode == 0, f"buf lint failed:\n{result.stdout}{result.stderr}"


def test_buf_lint_reports_a_badly_named_message_in_our_protos(tmp_path: Path) -> None:
    """The lint above is not vacuous: a STANDARD violation under tutti/ makes it fail."""
    protos = tmp_path / "protos"
    shutil.copytree(PROTOS, protos, ignore=shutil.ignore_patterns("__pycache__"))
    probe = protos / "tutti" / "v1" / "lint_probe.proto"
    probe.write_text(
        textwrap.dedent(
            """\
            syntax = "proto3";

            package tutti.v1;

            message lint_probe {
              string Field = 1;
            }
            """
        )
    )
    image = tmp_path / "image.binpb"
    run_generate(protos / "generate.py", "--image", str(image))
    result = buf_lint(image, tmp_path)
    assert result.returncode != 0
    assert "tutti/v1/lint_probe.proto" in result.stdout
    assert '"lint_probe" should be PascalCase' in result.stdout
    assert '"Field" should be lower_snake_case' in result.stdout


def generated_modules(package: str) -> list[ModuleType]:
    parent = importlib.import_module(package)
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(parent.__path__)
        if info.name.endswith(("_pb2", "_pb2_grpc"))
    )
    return [importlib.import_module(f"{package}.{name}") for name in names]


@pytest.mark.parametrize("package", OWN_PACKAGES)
def test_proto_package_is_the_python_import_path(package: str) -> None:
    """tutti/v1/stage.proto declares `package tutti.v1` and imports as tutti.v1.stage_pb2."""
    pb2_modules = [m for m in generated_modules(package) if m.__name__.endswith("_pb2")]
    assert pb2_modules, f"no generated modules in {package}"
    for module in pb2_modules:
        file = module.DESCRIPTOR
        stem = module.__name__.rpartition(".")[2].removesuffix("_pb2")
        assert file.package == package, f"{file.name} declares package {file.package}"
        assert file.name == f"{package.replace('.', '/')}/{stem}.proto"
        for message in file.message_types_by_name.values():
            assert message.full_name == f"{package}.{message.name}"
        for enum in file.enum_types_by_name.values():
            assert enum.full_name == f"{package}.{enum.name}"
        for service in file.services_by_name.values():
            assert service.full_name == f"{package}.{service.name}"
