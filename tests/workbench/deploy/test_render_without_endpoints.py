"""`tutti deploy render` of a composition whose served stages and merger declare no endpoint:
the router it renders is pointed at every one of them, and loads the composition."""

from __future__ import annotations

from pathlib import Path

from router_service import Router
from tests.workbench.deploy.rendered import kustomize, router_endpoints
from workbench.cli import main
from workbench.deploy import STAGE_PORT

COMPOSITION = """\
composition: bare
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  loud:
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: a}}
  soft:
    input: tutti.v1.Text
    output: tutti.v1.Classification
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: b}}
  pick: {kind: merger}
flow:
  fanout:
    branches: [loud, soft]
    merge: {by: pick, strategy: highest_confidence}
"""


async def test_the_rendered_router_has_an_endpoint_for_each_stage_that_declares_none(
    tmp_path: Path,
) -> None:
    source = tmp_path / "bare.yaml"
    source.write_text(COMPOSITION)
    out = tmp_path / "out"

    assert main(["deploy", "render", str(source), "--out", str(out)]) == 0

    endpoints = router_endpoints(kustomize(out))
    assert endpoints == {
        "loud": f"dns:///tutti-loud.tutti.svc.cluster.local:{STAGE_PORT}",
        "soft": f"dns:///tutti-soft.tutti.svc.cluster.local:{STAGE_PORT}",
        "pick": f"dns:///tutti-merger.tutti.svc.cluster.local:{STAGE_PORT}",
    }
    # What the rendered router does at start: the copied composition loads with those.
    router = await Router.load([out / "base" / "composition.yaml"], endpoints, describe=False)
    try:
        stages = router.engines["bare"].composition.stages
        assert {name: spec.endpoint for name, spec in stages.items()} == endpoints
    finally:
        await router.close()
