"""A stage that `tutti up` starts (a `serve:` block, or a merger) may leave out its endpoint;
a router must then be told where it is, and one that is not refuses the file at load."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from router_service import Router, compile_composition, read_composition
from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import text_request
from tutti.errors import CompositionError
from tutti.v1 import payloads_pb2, router_pb2

# No stage has an endpoint: `shout` and `quiet` are served, `pick` is a merger.
UNREACHED = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  shout:
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: loud}}
  quiet:
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: soft, confidence: 0.6}}
  pick: {kind: merger}
flow:
  fanout:
    branches: [shout, quiet]
    merge: {by: pick, strategy: highest_confidence}
"""
SHOUT_LINE, QUIET_LINE, PICK_LINE = 5, 9, 13


def label(response: router_pb2.RouteResponse) -> str:
    out = payloads_pb2.Classification()
    assert response.output.Unpack(out)
    return out.label


def test_a_served_stage_and_a_merger_need_no_endpoint_to_compile(
    write_composition: Callable[[str], Path],
) -> None:
    """What `tutti check` does offline: the file has no problem."""
    draft = read_composition(write_composition(UNREACHED))

    assert draft.problems == ()
    assert {name: spec.endpoint for name, spec in draft.stages.items()} == dict.fromkeys(
        ("shout", "quiet", "pick"), ""
    )
    assert sorted(compile_composition(draft).stages) == ["pick", "quiet", "shout"]


def test_a_stage_neither_served_nor_a_merger_still_needs_an_endpoint(
    write_composition: Callable[[str], Path],
) -> None:
    (served,) = [line for line in UNREACHED.splitlines(keepends=True) if "label: soft" in line]
    path = write_composition(UNREACHED.replace(served, ""))

    (problem,) = read_composition(path).problems
    # At the stage's first key, as before endpoints became optional.
    assert (problem.file, problem.line, problem.stage) == (str(path), QUIET_LINE + 1, "quiet")
    assert problem.message.startswith("missing 'endpoint' (host:port, dns:///name:port")
    assert "or a 'serve:' block for `tutti up` to start the stage from" in problem.message


async def test_a_router_told_no_endpoint_names_the_file_line_and_stage_of_each(
    write_composition: Callable[[str], Path],
) -> None:
    path = write_composition(UNREACHED)

    with pytest.raises(CompositionError) as raised:
        await Router.load([path], {"quiet": "127.0.0.1:1"}, describe=False)

    assert [str(p) for p in raised.value.problems] == [
        f"{path}:{SHOUT_LINE}: stage 'shout': no endpoint to call: pass --endpoint"
        " shout=HOST:PORT to the router, or add 'endpoint: HOST:PORT' to the stage"
        " (`tutti up` starts it from its serve: block and points the router at it)",
        f"{path}:{PICK_LINE}: stage 'pick': no endpoint to call: pass --endpoint"
        " pick=HOST:PORT to the router, or add 'endpoint: HOST:PORT' to the stage"
        " (`tutti up` starts the merger and points the router at it)",
    ]


async def test_a_stage_whose_endpoint_is_wrong_is_reported_once(
    write_composition: Callable[[str], Path],
) -> None:
    """The wrong endpoint's own problem says it all; "no endpoint to call" would repeat it."""
    path = write_composition(
        UNREACHED.replace("  pick: {kind: merger}", '  pick: {kind: merger, endpoint: ["nohost"]}')
    )

    with pytest.raises(CompositionError) as raised:
        await Router.load([path], {"shout": "127.0.0.1:1", "quiet": "127.0.0.1:1"}, describe=False)

    (problem,) = raised.value.problems
    assert problem.stage == "pick"
    assert "replica 'nohost' is not IP:port" in problem.message


async def test_a_composition_without_endpoints_routes_through_the_endpoints_it_is_given(
    mesh: Callable[[str], Awaitable[InLoopMesh]],
) -> None:
    m = await mesh(UNREACHED)

    assert label(await m.stub.Route(text_request("hi"), timeout=5)) == "loud"
    stages = m.router.engines["t"].composition.stages
    assert {name: spec.endpoint for name, spec in stages.items()} == {
        name: m.servers[name].address for name in ("shout", "quiet", "pick")
    }


async def test_a_reload_that_adds_a_stage_nobody_pointed_the_router_at_is_refused(
    mesh: Callable[[str], Awaitable[InLoopMesh]], caplog: pytest.LogCaptureFixture
) -> None:
    """The endpoints given at start still apply to a reloaded file, and a new stage without
    one is refused while the old plan serves."""
    m = await mesh(UNREACHED)
    (path,) = m.router.sources
    text = Path(path).read_text()
    added = (
        "  extra:\n    input: tutti.v1.Text\n    output: tutti.v1.Text\n"
        '    serve: {backend: python, factory: "tests.stages:echo"}\n'
    )
    Path(path).write_text(
        text.replace("  pick: {kind: merger}\n", f"  pick: {{kind: merger}}\n{added}")
    )

    with caplog.at_level(logging.ERROR, logger="tutti.router"):
        assert await m.router.reload_changed() == ()

    assert f"{path}:14: stage 'extra': no endpoint to call: pass --endpoint extra=HOST:PORT" in (
        caplog.text
    )
    assert "shout" not in caplog.text  # still pointed at by the endpoints it was given
    assert label(await m.stub.Route(text_request("hi"), timeout=5)) == "loud"
