"""`tutti deploy render`: Kubernetes manifests for one composition, on top of deploy/overlays.

For every stage with a `serve:` block it writes a specialist Deployment, a headless Service and
a NetworkPolicy that admits the router only (plus, in prod, a HorizontalPodAutoscaler and a
PodDisruptionBudget); it points the router at each served stage and at the merger through
`--endpoint STAGE=dns:///tutti-STAGE.NAMESPACE.svc.cluster.local:PORT`; and it writes a
kustomization.yaml over the chosen overlay, so that `kubectl kustomize OUT` renders everything.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tutti.errors import TuttiError

__all__ = [
    "DEPLOY",
    "GRACE_S",
    "OVERLAYS",
    "ROUTER_PORT",
    "STAGE_PORT",
    "render",
    "resource_name",
]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
OVERLAYS = ("dev", "prod")
ROUTER_PORT = 50051
STAGE_PORT = 50061
GRACE_S = 20
TERMINATION_GRACE_S = 30
IMAGE = "tutti:0.1.0"
COMPOSITION_PATH = "/etc/tutti/composition.yaml"
MERGER = "tutti-merger"
ROUTER = "tutti-router"


def resource_name(stage: str) -> str:
    """The DNS-1123 name of a stage's Deployment and Service: payments_disputes -> tutti-payments-disputes."""
    name = "tutti-" + re.sub(r"[^a-z0-9-]+", "-", stage.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if len(name) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        raise TuttiError(f"stage {stage!r} gives no valid Kubernetes name ({name!r})")
    return name


def _labels(name: str, stage: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "specialist",
        "app.kubernetes.io/part-of": "tutti",
        "tutti.dev/stage": resource_name(stage)[len("tutti-") :],
    }


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {"grpc": {"port": STAGE_PORT}, "periodSeconds": period, "failureThreshold": failures}


def _specialist(stage: str, overlay: str, backend: str = "") -> list[dict[str, Any]]:
    """The Deployment, Service and NetworkPolicy (and in prod HPA and PDB) of one stage.

    An `openai` stage also takes its environment from the Secret `<name>-credentials`, if
    there is one: where its API key's variable (`api_key_env`) is meant to come from.
    """
    name = resource_name(stage)
    labels = _labels(name, stage)
    selector = {"app.kubernetes.io/name": name}
    mounts: list[dict[str, Any]] = [
        {
            "name": "composition",
            "mountPath": COMPOSITION_PATH,
            "subPath": "composition.yaml",
            "readOnly": True,
        },
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "composition", "configMap": {"name": "tutti-composition"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if overlay == "prod":
        # The services do not read TLS yet: mounted only, as in deploy/overlays/prod/tls.yaml.
        mounts.append({"name": "tls", "mountPath": "/etc/tutti/tls", "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": "tutti-tls", "defaultMode": 0o440}})
    container = {
        "name": "specialist",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "serve",
            "specialist",
            "--config",
            COMPOSITION_PATH,
            "--stage",
            stage,
            "--host",
            "0.0.0.0",
            "--port",
            str(STAGE_PORT),
            "--grace",
            str(GRACE_S),
        ],
        "ports": [{"name": "grpc", "containerPort": STAGE_PORT, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": "tutti-otel", "optional": True}},
            *(
                [{"secretRef": {"name": f"{name}-credentials", "optional": True}}]
                if backend == "openai"
                else []
            ),
        ],
        # Loading a model (the strong one's embeddings) can take tens of seconds.
        "startupProbe": _probe(5, 24),
        "readinessProbe": _probe(5, 3),
        "livenessProbe": _probe(10, 3),
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1536Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 2 if overlay == "prod" else 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            # Headless: the router resolves every pod and balances with round_robin.
            "clusterIP": "None",
            "selector": selector,
            "ports": [
                {
                    "name": "grpc",
                    "port": STAGE_PORT,
                    "targetPort": "grpc",
                    "protocol": "TCP",
                    "appProtocol": "grpc",
                }
            ],
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{name}-ingress", "labels": {"app.kubernetes.io/part-of": "tutti"}},
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": ROUTER}}}],
                    "ports": [{"port": STAGE_PORT, "protocol": "TCP"}],
                }
            ],
        },
    }
    documents: list[dict[str, Any]] = [deployment, service, policy]
    if overlay == "prod":
        documents.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "tutti"}},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": 2,
                    "maxReplicas": 10,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        }
                    ],
                },
            }
        )
        documents.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "tutti"}},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
            }
        )
    return documents


def endpoints(stages: Mapping[str, Any], namespace: str) -> dict[str, str]:
    """Stage -> the router's in-cluster target, for served stages and merger stages.

    A stage with neither a `serve:` block nor `kind: merger` keeps the endpoint it declares.
    """
    found: dict[str, str] = {}
    for stage, spec in stages.items():
        if spec.serve is not None:
            service = resource_name(stage)
        elif spec.is_merger:
            service = MERGER
        else:
            continue
        found[stage] = f"dns:///{service}.{namespace}.svc.cluster.local:{STAGE_PORT}"
    return found


def render(
    composition: str | Path,
    overlay: str = "dev",
    out: str | Path | None = None,
    namespace: str = "tutti",
) -> Path:
    """Write the manifests of `composition` over deploy/overlays/OVERLAY into OUT; return OUT."""
    from router_service import read_composition

    if overlay not in OVERLAYS:
        raise TuttiError(f"unknown overlay {overlay!r}; expected one of {', '.join(OVERLAYS)}")
    base = DEPLOY / "overlays" / overlay
    if not (base / "kustomization.yaml").is_file():
        raise TuttiError(f"{base} not found: `tutti deploy render` runs from a Tutti checkout")
    source = Path(composition)
    draft = read_composition(source)
    if draft.problems:
        raise TuttiError(
            f"{source} has problems; run `tutti check {source}`: "
            + "; ".join(str(p) for p in draft.problems)
        )
    if not draft.name:
        raise TuttiError(f"{source} names no composition")
    served = [name for name, spec in draft.stages.items() if spec.serve is not None]
    names = [resource_name(stage) for stage in served]
    clashes = {n for n in names if names.count(n) > 1} | ({ROUTER, MERGER} & set(names))
    if clashes:
        raise TuttiError(f"stages map to the same Kubernetes name: {', '.join(sorted(clashes))}")

    target = Path(out) if out is not None else Path(f"deploy-{draft.name}-{overlay}")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / "composition.yaml")

    documents = [
        doc
        for stage in served
        for doc in _specialist(
            stage, overlay, str((draft.stages[stage].serve or {}).get("backend"))
        )
    ]
    _write_all(target / "specialists.yaml", documents)
    patch = [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/args/-",
            "value": f"--endpoint={stage}={address}",
        }
        for stage, address in endpoints(draft.stages, namespace).items()
    ]
    _write_all(target / "router-endpoints.yaml", [patch])
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [Path(os.path.relpath(base, target.resolve())).as_posix(), "specialists.yaml"],
        "patches": [
            {
                "path": "router-endpoints.yaml",
                "target": {"group": "apps", "kind": "Deployment", "name": ROUTER},
            }
        ],
        # Replaces the base's composition; the new hash rolls every pod that mounts it.
        "configMapGenerator": [
            {"name": "tutti-composition", "behavior": "replace", "files": ["composition.yaml"]}
        ],
    }
    header = (
        f"# Generated by `tutti deploy render {source} --overlay {overlay}`; render again after"
        " changing the composition.\n# Apply with: kubectl apply -k .\n"
    )
    (target / "kustomization.yaml").write_text(
        header + yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8"
    )
    return target


def _write_all(path: Path, documents: list[Any]) -> None:
    path.write_text(
        "# Generated by `tutti deploy render`.\n"
        + yaml.safe_dump_all(documents, sort_keys=False, width=100),
        encoding="utf-8",
    )
