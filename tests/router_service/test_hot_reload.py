"""Hot reload of a composition: a valid change swaps the plan without dropping calls; an invalid one is refused."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tests.router_service.waiting import until

TEMPLATE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  old: {{endpoint: x, serve: {{backend: python, factory: "tests.stages:slow", options: {{delay_ms: 300}}}}}}
  new: {{endpoint: x, serve: {{backend: python, factory: "tests.stages:suffix", options: {{text: " (new)"}}}}}}
flow: {flow}
"""


def rewrite(path: Path, flow: str) -> None:
    text = path.read_text()
    head = text[: text.index("\nflow:")]
    path.write_text(f"{head}\nflow: {flow}\n")


async def test_a_valid_change_is_swapped_in_while_calls_in_flight_finish_on_the_old_plan(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="old"))
    (path,) = m.router.sources
    in_flight = asyncio.ensure_future(m.stub.Route(text_request("a"), timeout=5))
    await until(lambda: m.models["old"].in_flight == 1)  # the slow stage has it
    rewrite(Path(path), "new")
    assert await m.router.reload_changed() == (path,)
    assert output_text(await m.stub.Route(text_request("b"), timeout=5)) == "b (new)"
    first = await in_flight
    assert output_text(first) == "a"  # finished on the plan it started with
    assert [s.stage for s in first.execution.stages] == ["old"]
    assert await m.router.reload_changed() == ()  # nothing changed since


async def test_an_invalid_change_is_refused_with_its_errors_logged_and_the_old_plan_serves(
    mesh, caplog: pytest.LogCaptureFixture
) -> None:
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="new"))
    (path,) = m.router.sources
    rewrite(Path(path), "{sequence: [new, missing]}")
    with caplog.at_level(logging.ERROR, logger="tutti.router"):
        assert await m.router.reload_changed() == ()
    assert "does not load; still serving the old plan of 't'" in caplog.text
    assert "unknown stage 'missing'" in caplog.text
    assert output_text(await m.stub.Route(text_request("c"), timeout=5)) == "c (new)"
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="tutti.router"):
        assert await m.router.reload_changed() == ()
    assert caplog.text == ""  # reported once, not at every look


async def test_the_watcher_applies_a_change_on_its_own(mesh) -> None:
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="old"))
    (path,) = m.router.sources
    m.router.watch(0.05)
    rewrite(Path(path), "new")
    await until(lambda: "new" in str(m.router.engines["t"].composition.flow))
    assert output_text(await m.stub.Route(text_request("d"), timeout=5)) == "d (new)"


async def test_a_change_to_bytes_that_are_not_utf8_is_logged_once_and_the_old_plan_serves(
    mesh, caplog: pytest.LogCaptureFixture
) -> None:
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="new"))
    (path,) = m.router.sources
    Path(path).write_bytes(Path(path).read_bytes() + b"# caf\xe9\n")
    caplog.set_level(logging.ERROR, logger="tutti.router")
    for _ in range(3):  # three ticks of the watcher
        assert await m.router.reload_changed() == ()
    refused = [r for r in caplog.records if "not UTF-8" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]
    assert "Traceback" not in caplog.text
    assert output_text(await m.stub.Route(text_request("a"), timeout=5)) == "a (new)"


async def test_a_change_to_nested_aliases_is_refused_and_calls_go_on_meanwhile(
    mesh, caplog: pytest.LogCaptureFixture
) -> None:
    """A few hundred bytes of aliases that stand for millions of nodes ("billion laughs")."""
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="new"))
    (path,) = m.router.sources
    text = Path(path).read_text()
    laughs = ["flows:", "  f0: &f0 {sequence: [new, new, new, new, new, new, new, new]}"]
    laughs += [
        f"  f{i}: &f{i} {{sequence: [{', '.join([f'*f{i - 1}'] * 8)}]}}" for i in range(1, 8)
    ]
    Path(path).write_text(text[: text.index("\nflow:")] + "\n" + "\n".join(laughs) + "\nflow: f7\n")
    caplog.set_level(logging.ERROR, logger="tutti.router")
    reload = asyncio.ensure_future(m.router.reload_changed())
    answers = [await m.stub.Route(text_request(f"r{i}"), timeout=5) for i in range(5)]
    assert await reload == ()
    assert [output_text(a) for a in answers] == [f"r{i} (new)" for i in range(5)]
    assert "aliases expand to" in caplog.text


async def test_a_removed_file_is_reported_once_and_reloads_when_it_is_back(
    mesh, caplog: pytest.LogCaptureFixture
) -> None:
    m: InLoopMesh = await mesh(TEMPLATE.format(flow="old"))
    (path,) = m.router.sources
    text = Path(path).read_text()
    Path(path).unlink()
    with caplog.at_level(logging.ERROR, logger="tutti.router"):
        assert await m.router.reload_changed() == ()
        assert await m.router.reload_changed() == ()
    assert caplog.text.count("cannot reload") == 1
    assert output_text(await m.stub.Route(text_request("e"), timeout=5)) == "e"
    Path(path).write_text(text.replace("flow: old", "flow: new"))
    assert await m.router.reload_changed() == (path,)
    assert output_text(await m.stub.Route(text_request("f"), timeout=5)) == "f (new)"
