"""What a schema cannot see: every name a rendered document refers to exists, the router is
pointed at a headless Service per stage, every pod's models come from the composition's own
models image, and every specialist checks the digest of exactly its stage's files."""

from __future__ import annotations

import pytest

from router_service import read_composition
from specialist_service import stage_files
from tests.workbench.deploy.conftest import CASES, RENDERED
from tests.workbench.deploy.rendered import (
    COMPOSITIONS,
    Document,
    by_name,
    flag,
    matches,
    of_kind,
    pods,
    router_endpoints,
    tutti_pods,
)
from tutti.digest import tree_digest
from workbench.deploy import COMPOSITION_PATH, FOLDER, ROUTER_PORT, models_bundle
from workbench.serve_blocks import stage_config


def _composition(case: str) -> str:
    return case.rpartition("-")[0]


@pytest.mark.parametrize("case", CASES)
def test_references_resolve(rendered: dict[str, list[Document]], case: str) -> None:
    documents = rendered[case]
    config_maps = set(by_name(documents, "ConfigMap"))
    deployments = by_name(documents, "Deployment")
    for name, pod in pods(documents).items():
        for volume in pod["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, (name, volume)
        for container in pod["spec"]["containers"]:
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and not ref.get("optional"):
                    assert ref["name"] in config_maps, name
            declared = {v["name"] for v in pod["spec"]["volumes"]}
            assert {m["name"] for m in container["volumeMounts"]} <= declared, name
    if case.endswith("dev"):
        assert "tutti-otel" in config_maps
    for name, hpa in by_name(documents, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments, name
    for budget in by_name(documents, "PodDisruptionBudget").values():
        assert any(
            matches(budget["spec"]["selector"], p["metadata"]["labels"])
            for p in pods(documents).values()
        )
    namespaces = {d["metadata"].get("namespace") for d in documents if d["kind"] != "Namespace"}
    assert namespaces == {"tutti"}
    if case.endswith("prod"):
        assert all(d["spec"]["replicas"] >= 2 for d in deployments.values())
        scaled = {
            h["spec"]["scaleTargetRef"]["name"]
            for h in of_kind(documents, "HorizontalPodAutoscaler")
        }
        assert set(tutti_pods(documents)) <= scaled
        budgets = set(by_name(documents, "PodDisruptionBudget"))
        assert set(tutti_pods(documents)) <= budgets
    else:
        assert all(d["spec"]["replicas"] == 1 for d in deployments.values())


@pytest.mark.parametrize("case", RENDERED)
def test_every_router_endpoint_is_a_headless_service_with_that_port(
    rendered: dict[str, list[Document]], case: str
) -> None:
    documents = rendered[case]
    services = by_name(documents, "Service")
    draft = read_composition(COMPOSITIONS[_composition(case)])
    endpoints = router_endpoints(documents)
    expected = {s for s, spec in draft.stages.items() if spec.serve is not None or spec.is_merger}
    assert set(endpoints) == expected
    for address in endpoints.values():
        assert address.startswith("dns:///"), address
        host, _, port = address.removeprefix("dns:///").rpartition(":")
        name, namespace, *rest = host.split(".")
        assert rest == ["svc", "cluster", "local"] and namespace == "tutti", address
        service = services[name]
        assert service["metadata"]["namespace"] == namespace
        assert service["spec"]["clusterIP"] == "None", name
        assert int(port) in {p["port"] for p in service["spec"]["ports"]}, address
    assert services["tutti-router"]["spec"]["ports"][0]["port"] == ROUTER_PORT
    if _composition(case) == "desk":
        assert endpoints["payments_disputes"].startswith("dns:///tutti-payments-disputes.")


@pytest.mark.parametrize("case", RENDERED)
def test_pods_fill_the_composition_folder_from_its_own_models_image(
    rendered: dict[str, list[Document]], case: str
) -> None:
    """Specialists always, the router and merger only for `imports:` modules beside the
    composition (the user-typed one's acme/v1/tickets_pb2.py); the image is the bundle's."""
    bundle = models_bundle(COMPOSITIONS[_composition(case)])
    assert bundle.image.startswith("tutti-models-") and bundle.image.endswith(
        ":" + bundle.digest.removeprefix("sha256:")[:12]
    )
    for name, pod in tutti_pods(rendered[case]).items():
        spec = pod["spec"]
        component = pod["metadata"]["labels"]["app.kubernetes.io/component"]
        container = spec["containers"][0]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts[FOLDER]["name"]], name
        composition = mounts[COMPOSITION_PATH]
        assert composition["subPath"] == "composition.yaml" and composition["readOnly"], name
        assert "configMap" in volumes[composition["name"]], name
        config = flag(container["args"], "--config")
        assert config == COMPOSITION_PATH, name
        filled = component == "specialist" or bool(bundle.imports)
        inits = spec.get("initContainers", [])
        if not filled:
            assert not inits, name
            continue
        (init,) = inits
        assert init["image"] == bundle.image, name
        assert init["command"] == ["cp", "-a", "/models/.", f"{FOLDER}/"], name
        assert [m["mountPath"] for m in init["volumeMounts"]] == [FOLDER], name
        assert init["volumeMounts"][0]["name"] == mounts[FOLDER]["name"], name
    assert bool(bundle.imports) == (_composition(case) == "user-types")


@pytest.mark.parametrize("case", RENDERED)
def test_every_specialist_checks_the_digest_of_its_own_stage_files(
    rendered: dict[str, list[Document]], case: str
) -> None:
    source = COMPOSITIONS[_composition(case)]
    folder = source.resolve().parent
    checked: dict[str, str] = {}
    for pod in tutti_pods(rendered[case]).values():
        container = pod["spec"]["containers"][0]
        if container["name"] == "specialist":
            stage = flag(container["args"], "--stage")
            assert stage is not None
            checked[stage] = flag(container["args"], "--model-digest") or ""
    draft = read_composition(source)
    served = {s for s, spec in draft.stages.items() if spec.serve is not None}
    assert set(checked) == served
    for stage, digest in checked.items():
        assert digest == tree_digest(folder, stage_files(stage_config(source, stage))), stage
