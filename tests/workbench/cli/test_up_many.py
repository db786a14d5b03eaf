"""`tutti up A.yaml B.yaml`: one router over one service per stage name, for compositions that
declare no endpoints; files that declare a shared stage differently are refused before anything
starts; and a router started by hand without an endpoint says which one it needs."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workbench.cli.running import Up, child_pids, free_port, tutti
from tests.workbench.cli.test_up_and_route import routed, stage_names
from tutti.errors import ConfigError
from workbench.mesh import Mesh

# `loud` and the merger `pick` are in both files; each file has a stage of its own, made by
# a module beside it (the two files are in different folders).
COMPOSITION = """\
composition: {name}
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  loud:
    input: tutti.v1.Text
    output: tutti.v1.Classification
{loud_serve}
  {name}_tag:
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {{backend: python, factory: "{name}_models:model"}}
  pick: {{kind: merger}}
flow:
  fanout:
    branches: [loud, {name}_tag]
    merge: {{by: pick, strategy: highest_confidence}}
"""
LOUD_SERVE = (
    '    serve: {backend: python, factory: "tests.stages:fixed_classification",'
    " options: {label: loud}}"
)
MODELS = """\
from tests.stages import fixed_classification


def model():
    return fixed_classification("{name}", confidence=0.99)
"""
LOUD_LINE = 5


def composition(name: str) -> str:
    return COMPOSITION.format(name=name, loud_serve=LOUD_SERVE)


def write(folder: Path, name: str, text: str = "") -> Path:
    """Composition `name` in `folder` (or `text` there), and beside it its own stage's module."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_models.py").write_text(MODELS.format(name=name))
    path = folder / f"{name}.yaml"
    path.write_text(text or composition(name))
    return path


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, list[Path]]]:
    """alpha and beta brought up together, from two folders; stopped after."""
    root = tmp_path_factory.mktemp("many")
    files = [write(root / "a", "alpha"), write(root / "b", "beta")]
    up = Up.start(files, free_port(), root / "stderr.log")
    try:
        yield up, files
    finally:
        up.stop(signal.SIGTERM)


def test_one_service_per_stage_name_and_one_router_for_both(two: tuple[Up, list[Path]]) -> None:
    up, files = two

    assert f"compositions {files[0]}, {files[1]} are up:" in up.stdout
    assert list(up.endpoints) == ["loud", "alpha_tag", "pick", "beta_tag", "router"]
    if Path("/proc").is_dir():
        assert len(child_pids(up.process.pid)) == 5, up.output()  # one process per service
    assert up.stdout[-1] == "Ctrl-C stops every service."


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_each_composition_routes_through_the_shared_stage_and_its_own(
    two: tuple[Up, list[Path]], name: str
) -> None:
    """Each file's own stage comes from the module beside that file, and wins on confidence."""
    up, _ = two

    data = routed(up, name, '{"text": "hello"}')

    assert data["output"]["label"] == name
    assert sorted(stage_names(data["execution"])) == sorted(["loud", f"{name}_tag", "pick"])
    assert data["execution"]["composition"] == name


def test_a_shared_stage_declared_differently_stops_up_before_any_service_starts(
    tmp_path: Path,
) -> None:
    alpha = write(tmp_path / "a", "alpha")
    marker = tmp_path / "started"
    # alpha's own stage, the first the mesh would start, leaves the marker if it ever starts.
    (tmp_path / "a" / "alpha_models.py").write_text(
        "from pathlib import Path\n\nfrom tests.stages import fixed_classification\n\n\n"
        f"def model():\n    Path({str(marker)!r}).touch()\n    return fixed_classification('x')\n"
    )
    # beta's `loud` is another model.
    beta = write(tmp_path / "b", "beta", composition("beta").replace("label: loud", "label: LOUD"))

    result = tutti("up", str(alpha), str(beta), "--port", str(free_port()))

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"tutti: configuration error: {beta}:{LOUD_LINE}: stage 'loud': not the same stage as"
        f" 'loud' in {alpha}:{LOUD_LINE} (the serve: blocks differ); compositions brought up"
        " together share one service per stage name, so make the two the same or rename one\n"
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            ("output: tutti.v1.Classification\n    serve", "output: tutti.v1.Text\n    serve"),
            "output tutti.v1.Text here, tutti.v1.Classification there",
        ),
        (
            ("  pick: {kind: merger}", "  pick: {endpoint: x, input: tutti.v1.Text}"),
            "one is a merger, the other a model stage",
        ),
        ((LOUD_SERVE, '    endpoint: "127.0.0.1:1"'), "only one has a serve: block"),
    ],
)
def test_every_way_a_shared_stage_can_differ_is_named(
    tmp_path: Path, change: tuple[str, str], why: str
) -> None:
    alpha = write(tmp_path / "a", "alpha")
    beta_text = composition("beta").replace(*change, 1)
    assert beta_text != composition("beta")
    beta = write(tmp_path / "b", "beta", text=beta_text)

    with pytest.raises(ConfigError) as raised:
        Mesh.start([alpha, beta])

    (problem,) = raised.value.problems
    assert problem.file == str(beta)
    assert f"in {alpha}:" in problem.message
    assert f"({why})" in problem.message


def test_one_composition_name_in_two_files_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    first = write(tmp_path / "a", "alpha")
    second = write(tmp_path / "b", "alpha")

    with pytest.raises(ConfigError) as raised:
        Mesh.start([first, second])

    assert [str(p) for p in raised.value.problems] == [
        f"{second}:1: composition 'alpha' is already served from {first}"
    ]


def test_check_passes_a_composition_without_endpoints(tmp_path: Path) -> None:
    """Offline, a stage that `tutti up` starts needs no endpoint."""
    path = write(tmp_path, "alpha")

    result = tutti("check", str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{path}: ok: composition 'alpha'")


def test_a_router_started_by_hand_names_every_endpoint_it_lacks(tmp_path: Path) -> None:
    path = write(tmp_path, "alpha")

    result = tutti("serve", "router", "--config", str(path), "--port", "0")

    assert result.returncode == 2, result.stderr
    how = "pass --endpoint {0}=HOST:PORT to the router, or add 'endpoint: HOST:PORT' to the stage"
    assert result.stderr.splitlines()[-3:] == [
        f"tutti: configuration error: {path}:{LOUD_LINE}: stage 'loud': no endpoint to call: "
        + how.format("loud")
        + " (`tutti up` starts it from its serve: block and points the router at it)",
        f"{path}:{LOUD_LINE + 4}: stage 'alpha_tag': no endpoint to call: "
        + how.format("alpha_tag")
        + " (`tutti up` starts it from its serve: block and points the router at it)",
        f"{path}:{LOUD_LINE + 8}: stage 'pick': no endpoint to call: "
        + how.format("pick")
        + " (`tutti up` starts the merger and points the router at it)",
    ]
