"""Every rendered document is valid for Kubernetes 1.34 (kubernetes-validate --strict), and
every Tutti pod is locked down, probed on its plaintext health port, drained before it is
killed, and in prod serves TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workbench.deploy.conftest import CASES
from tests.workbench.deploy.rendered import (
    Document,
    by_name,
    flag,
    matches,
    pods,
    tutti_pods,
    validate,
)
from workbench.deploy import GRACE_S, HEALTH_PORT, ROUTER_HEALTH_PORT, TLS_DIR


@pytest.mark.parametrize("case", CASES)
def test_valid_against_the_kubernetes_schemas(
    rendered: dict[str, list[Document]], case: str, tmp_path: Path
) -> None:
    validate(rendered[case], tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_every_service_selects_pods_on_a_declared_port(
    rendered: dict[str, list[Document]], case: str
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


def _locked_down(security: dict[str, object], name: str) -> None:
    assert security["runAsNonRoot"] is True, name
    assert security["readOnlyRootFilesystem"] is True, name
    assert security["allowPrivilegeEscalation"] is False, name
    assert security["capabilities"] == {"drop": ["ALL"]}, name
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name


@pytest.mark.parametrize("case", CASES)
def test_probes_hit_the_health_port_and_pods_are_locked_down(
    rendered: dict[str, list[Document]], case: str
) -> None:
    for name, pod in tutti_pods(rendered[case]).items():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["terminationGracePeriodSeconds"] > GRACE_S
        volumes = {v["name"]: v for v in spec["volumes"]}
        for init in spec.get("initContainers", []):
            _locked_down(init["securityContext"], f"{name}/{init['name']}")
            assert "requests" in init["resources"] and "limits" in init["resources"]
        for container in spec["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            health = ROUTER_HEALTH_PORT if container["name"] == "router" else HEALTH_PORT
            assert ports["health"] == health, name
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["grpc"] == {"port": health, "service": ""}, (name, probe)
            _locked_down(container["securityContext"], name)
            assert "requests" in container["resources"] and "limits" in container["resources"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            args = container["args"]
            assert args[:2] == ["serve", container["name"]], name
            assert flag(args, "--host") == "0.0.0.0", name
            assert flag(args, "--port") == str(ports["grpc"]), name
            assert flag(args, "--health-port") == str(health), name
            # The pod is killed only after the service's own drain has had its time.
            grace = float(flag(args, "--grace") or "nan")
            pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert spec["terminationGracePeriodSeconds"] > grace + pause, name
            _tls_as_overlay_says(case, container["name"], args, mounts, volumes, name)


def _tls_as_overlay_says(
    case: str,
    role: str,
    args: list[str],
    mounts: dict[str, str],
    volumes: dict[str, Document],
    name: str,
) -> None:
    server = {
        "--tls-cert": f"{TLS_DIR}/tls.crt",
        "--tls-key": f"{TLS_DIR}/tls.key",
        **({} if role == "router" else {"--tls-client-ca": f"{TLS_DIR}/ca.crt"}),
    }
    client = {
        "--tls-ca": f"{TLS_DIR}/ca.crt",
        "--tls-client-cert": f"{TLS_DIR}/tls.crt",
        "--tls-client-key": f"{TLS_DIR}/tls.key",
    }
    wanted = {**server, **(client if role == "router" else {})}
    if case.endswith("prod"):
        assert {f: flag(args, f) for f in wanted} == wanted, name
        assert volumes[mounts[TLS_DIR]]["secret"]["secretName"] == "tutti-tls", name
    else:
        assert not [a for a in args if a.startswith("--tls")], name
        assert TLS_DIR not in mounts, name
