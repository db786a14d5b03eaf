"""The base install (no extras) runs the router and the merger, and nothing heavier: it is
installed into a fresh virtualenv, and the quickstart is served from it.

The install fetches the pinned base dependencies through pip (its cache makes a second
run quick); the project itself is built from a copy of this tree.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import READY_PREFIX

ROOT = Path(__file__).resolve().parents[1]
# What pyproject.toml packages, and what building it reads.
SOURCES = [
    "pyproject.toml",
    "README.md",
    "tutti",
    "router_service",
    "specialist_service",
    "merger_service",
    "workbench",
    "buf",
    "inference",
]
# Each one is an extra's: a model kind's, the tools', or the shared cache's.
HEAVY = [
    "torch",
    "sentence-transformers",
    "transformers",
    "scikit-learn",
    "numpy",
    "scipy",
    "joblib",
    "matplotlib",
    "tqdm",
    "redis",
    "httpx",
    "llama-cpp-python",
]
# The base install's size the layout is held to (measured: about 95 MB).
MAX_VENV_MB = 150


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with `pip install <this tree>` and no extras; its bin folder."""
    work = tmp_path_factory.mktemp("base-install")
    source = work / "source"
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    done = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir / "bin"


def test_the_base_install_holds_no_model_library_and_stays_small(base: Path) -> None:
    listed = subprocess.run(
        [str(base / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "grpcio" in installed and "tutti" in installed, listed
    assert not installed & set(HEAVY), f"the base install pulled in {installed & set(HEAVY)}"
    size = _du_mb(base.parent)
    assert size < MAX_VENV_MB, f"the base virtualenv is {size:.0f} MB"


@pytest.fixture
def quickstart(base: Path, tmp_path: Path) -> Iterator[str]:
    """`tutti up` of the quickstart from the base install; the router's address."""
    folder = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", folder)
    # Run outside the repository, so that nothing imports this tree instead of the install.
    with subprocess.Popen(
        [str(base / "tutti"), "up", "composition.yaml", "--port", "0"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            router = ""
            for line in process.stdout:
                if line.split()[:1] == ["router"]:
                    router = line.split()[1]
                if line.startswith("Ctrl-C"):
                    break
            assert router, process.stderr.read()
            yield router
        finally:
            _stop(process, signal.SIGINT)


def test_the_quickstart_serves_from_the_base_install(quickstart: str) -> None:
    with grpc.insecure_channel(quickstart) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        request = router_pb2.RouteRequest(
            composition="quickstart",
            input=pack(payloads_pb2.Text(text="I was double charged on my bill")),
        )
        response = stub.Route(request, timeout=30)
    text = payloads_pb2.Text.FromString(response.output.value).text
    assert "billing" in text and text.endswith("-- The Tutti support team")
    assert [s.stage for s in response.execution.stages] == ["triage", "billing", "sign_off"]


def test_a_merger_serves_from_the_base_install(base: Path, tmp_path: Path) -> None:
    with subprocess.Popen(
        [str(base / "tutti"), "serve", "merger"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith(f"{READY_PREFIX}merger on 127.0.0.1:")
        finally:
            _stop(process, signal.SIGTERM)
        assert process.returncode == 0


def _stop(process: subprocess.Popen[str], how: signal.Signals) -> None:
    process.send_signal(how)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_command_that_needs_an_extra_names_it(base: Path, tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\nreset my password,account\nrefund please,billing\n")
    done = subprocess.run(
        [str(base / "tutti"), "train", str(data), "--model", "cheap", "--out", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "pip install 'tutti[sklearn]'" in done.stderr
    assert "Traceback" not in done.stderr
