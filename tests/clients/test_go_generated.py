"""The committed Go code of the tutti.v1 protos (clients/go) is what generate.sh makes now."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.clients.conftest import require_tool
from tests.clients.go_build import GO_CLIENT, HOW, checked

GENERATED = ("tutti/v1", "internal/buf/validate")


def generated_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for folder in GENERATED
        for path in sorted((root / folder).glob("*.pb.go"))
    }


def test_the_committed_go_code_is_not_stale(tmp_path: Path) -> None:
    for tool in ("protoc", "protoc-gen-go", "protoc-gen-go-grpc"):
        require_tool(tool, HOW)
    checked(
        [str(GO_CLIENT / "generate.sh"), str(tmp_path)],
        "clients/go/generate.sh",
        env={**os.environ, "PYTHON": sys.executable},
    )
    fresh = generated_files(tmp_path)
    committed = generated_files(GO_CLIENT)
    assert fresh, "generate.sh wrote nothing"
    assert sorted(committed) == sorted(fresh), "run clients/go/generate.sh"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"stale, run clients/go/generate.sh: {stale}"
