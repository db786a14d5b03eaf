"""The Kubernetes documents of one served stage or of the merger, and the names they go by.

A Deployment, a headless Service and a NetworkPolicy that admits the router only; in prod
also a HorizontalPodAutoscaler and a PodDisruptionBudget. The pods are `_pod`'s.
"""

from __future__ import annotations

import re
from typing import Any

from tutti.errors import TuttiError
from workbench.deploy._images import MERGER_IMAGE
from workbench.deploy._pod import (
    COMPOSITION_PATH,
    STAGE_PORT,
    pod_template,
    service_container,
)

__all__ = [
    "MERGER",
    "ROUTER",
    "merger_documents",
    "resource_name",
    "specialist_documents",
]

MERGER = "tutti-merger"
ROUTER = "tutti-router"


def resource_name(stage: str) -> str:
    """The DNS-1123 name of a stage's Deployment and Service: payments_disputes -> tutti-payments-disputes."""
    name = "tutti-" + re.sub(r"[^a-z0-9-]+", "-", stage.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if len(name) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        raise TuttiError(f"stage {stage!r} gives no valid Kubernetes name ({name!r})")
    return name


def specialist_documents(
    stage: str,
    overlay: str,
    image: str,
    models_image: str | None,
    model_digest: str,
    backend: str = "",
) -> list[dict[str, Any]]:
    """The documents of one served stage, its specialist started on the composition's folder
    and refusing files whose digest is not `model_digest`.

    An `openai` stage also takes its environment from the Secret `<name>-credentials`, if
    there is one: where its API key's variable (`api_key_env`) is meant to come from.
    """
    name = resource_name(stage)
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "specialist",
        "app.kubernetes.io/part-of": "tutti",
        "tutti.dev/stage": name[len("tutti-") :],
    }
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": "tutti-otel", "optional": True}}]
    if backend == "openai":
        env_from.append({"secretRef": {"name": f"{name}-credentials", "optional": True}})
    args = ["--config", COMPOSITION_PATH, "--stage", stage, "--model-digest", model_digest]
    resources = {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1536Mi"},
    }
    container = service_container("specialist", image, args, env_from, resources, overlay)
    return _documents(name, labels, pod_template(labels, container, models_image, overlay), overlay)


def merger_documents(overlay: str, models_image: str | None) -> list[dict[str, Any]]:
    """The merger's documents: it combines fan-out branches (every `kind: merger` stage).

    It reads the composition for its `imports:`, the message types of its fan-outs; the
    models image fills its folder only when those modules live beside the composition.
    """
    labels = {
        "app.kubernetes.io/name": MERGER,
        "app.kubernetes.io/component": "merger",
        "app.kubernetes.io/part-of": "tutti",
    }
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": "tutti-otel", "optional": True}}]
    resources = {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    container = service_container(
        "merger", MERGER_IMAGE, ["--config", COMPOSITION_PATH], env_from, resources, overlay
    )
    pod = pod_template(labels, container, models_image, overlay)
    return _documents(MERGER, labels, pod, overlay)


def _documents(
    name: str, labels: dict[str, str], pod: dict[str, Any], overlay: str
) -> list[dict[str, Any]]:
    selector = {"app.kubernetes.io/name": name}
    part_of = {"app.kubernetes.io/part-of": "tutti"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 2 if overlay == "prod" else 1,
            "selector": {"matchLabels": selector},
            "template": pod,
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
        "metadata": {"name": f"{name}-ingress", "labels": part_of},
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
                "metadata": {"name": name, "labels": part_of},
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
                "metadata": {"name": name, "labels": part_of},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
            }
        )
    return documents
