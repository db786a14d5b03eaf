"""The Kubernetes documents of one served stage, and the names they go by.

A Deployment, a headless Service and a NetworkPolicy; in prod also a
HorizontalPodAutoscaler and a PodDisruptionBudget.
"""

from __future__ import annotations

import re
from typing import Any

from tutti.errors import TuttiError

__all__ = [
    "GRACE_S",
    "MERGER",
    "ROUTER",
    "ROUTER_PORT",
    "STAGE_PORT",
    "resource_name",
    "specialist_documents",
]

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


def specialist_documents(stage: str, overlay: str, backend: str = "") -> list[dict[str, Any]]:
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
