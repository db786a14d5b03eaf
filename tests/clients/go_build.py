"""Building Go programs for the tests offline, as clients/go/build.sh does: a user's module
over tutti.dev/go gets its Debian `replace` lines from clients/go/offline.sh."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import ROOT, require_tool

GO_CLIENT = ROOT / "clients" / "go"
GO_BUILD = GO_CLIENT / "build"
HOW = (
    "run `make go-client` (it installs Debian's golang-go, grpc-go, protobuf-go and"
    " protoc-gen-go packages)"
)
# Compiling grpc-go and protobuf-go from source on a cold build cache, on 2 shared cores.
BUILD_TIMEOUT_S = 900.0


def go_env(module: Path) -> dict[str, str]:
    """The environment of an offline `go` command in `module`: no proxy, Debian's sources."""
    require_tool("go", HOW)
    modfile = checked([str(GO_CLIENT / "offline.sh"), str(module)], "clients/go/offline.sh")
    return {
        **os.environ,
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "CGO_ENABLED": "0",
        "GOFLAGS": f"-mod=mod -modfile={modfile.strip()}",
        "GOCACHE": str(GO_BUILD / "cache"),
        "GOMODCACHE": str(GO_BUILD / "modcache"),
    }


def go_build(module: Path, output: Path) -> Path:
    """Build the main package of `module` into `output`."""
    checked(
        ["go", "build", "-o", str(output), "."], f"go build in {module}", module, go_env(module)
    )
    assert output.is_file(), output
    return output


def checked(
    argv: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Run a build step; its failure fails the test with what it printed."""
    result = subprocess.run(
        argv,
        check=False,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        cwd=cwd,
        env=env,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout
