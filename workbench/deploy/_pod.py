"""The pod of a Tutti service: its container, the composition folder filled from the models
image, the plaintext health port its probes use, and in prod the TLS flags and certificates.

In a pod the composition's folder is `/srv/composition`, an emptyDir. An initContainer
running the composition's models image copies its files in (`cp -a /models/. ...`), and
composition.yaml is the ConfigMap's key mounted over it (subPath): no shell is needed in the
models image, and the file is read-only to the service. A subPath mount does not follow
ConfigMap updates, but none is lost: the ConfigMap's name carries its content hash, so a new
composition is a new ConfigMap and rolls every pod that mounts it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPOSITION_PATH",
    "FOLDER",
    "GRACE_S",
    "HEALTH_PORT",
    "ROUTER_HEALTH_PORT",
    "ROUTER_PORT",
    "STAGE_PORT",
    "TLS_DIR",
    "models_init_container",
    "pod_template",
    "server_tls_args",
    "service_container",
]

ROUTER_PORT = 50051
ROUTER_HEALTH_PORT = 50052
STAGE_PORT = 50061
HEALTH_PORT = 50062
GRACE_S = 20
TERMINATION_GRACE_S = 30
FOLDER = "/srv/composition"
COMPOSITION_PATH = f"{FOLDER}/composition.yaml"
TLS_DIR = "/etc/tutti/tls"
USER = 10001

LOCKED_DOWN: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def server_tls_args() -> list[str]:
    """A stage's or the merger's mTLS: its certificate, and only clients the CA signed."""
    return [
        "--tls-cert",
        f"{TLS_DIR}/tls.crt",
        "--tls-key",
        f"{TLS_DIR}/tls.key",
        "--tls-client-ca",
        f"{TLS_DIR}/ca.crt",
    ]


def _probe(period: int, failures: int, port: int) -> dict[str, Any]:
    # The health port is plaintext: the kubelet's gRPC probes cannot speak TLS.
    return {
        "grpc": {"port": port, "service": ""},
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def service_container(
    role: str,
    image: str,
    args: list[str],
    env_from: list[dict[str, Any]],
    resources: dict[str, Any],
    overlay: str,
) -> dict[str, Any]:
    """A service's container: `tutti serve ROLE ARGS` on STAGE_PORT, health on HEALTH_PORT."""
    tls = overlay == "prod"
    mounts: list[dict[str, Any]] = [
        {"name": "composition-folder", "mountPath": FOLDER},
        {
            "name": "composition",
            "mountPath": COMPOSITION_PATH,
            "subPath": "composition.yaml",
            "readOnly": True,
        },
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if tls:
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    return {
        "name": role,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "serve",
            role,
            *args,
            "--host",
            "0.0.0.0",
            "--port",
            str(STAGE_PORT),
            "--health-port",
            str(HEALTH_PORT),
            "--grace",
            str(GRACE_S),
            *(server_tls_args() if tls else []),
        ],
        "ports": [
            {"name": "grpc", "containerPort": STAGE_PORT, "protocol": "TCP"},
            {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
        ],
        # Nothing may write beside the model files: their digest is checked at start.
        "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "envFrom": env_from,
        # Loading a model (the strong one's embeddings) can take tens of seconds.
        "startupProbe": _probe(5, 24, HEALTH_PORT),
        "readinessProbe": _probe(5, 3, HEALTH_PORT),
        "livenessProbe": _probe(10, 3, HEALTH_PORT),
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": resources,
        "securityContext": LOCKED_DOWN,
        "volumeMounts": mounts,
    }


def models_init_container(image: str) -> dict[str, Any]:
    """Copies the composition's models image's /models into the pod's composition folder."""
    return {
        "name": "models",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["cp", "-a", "/models/.", f"{FOLDER}/"],
        "resources": {
            "requests": {"cpu": "50m", "memory": "32Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"},
        },
        "securityContext": LOCKED_DOWN,
        "volumeMounts": [{"name": "composition-folder", "mountPath": FOLDER}],
    }


def pod_template(
    labels: dict[str, str],
    container: dict[str, Any],
    models_image: str | None,
    overlay: str,
) -> dict[str, Any]:
    """The pod: locked down, the composition folder (filled when there are models to copy),
    and in prod the `tutti-tls` Secret."""
    volumes: list[dict[str, Any]] = [
        {"name": "composition-folder", "emptyDir": {}},
        {"name": "composition", "configMap": {"name": "tutti-composition"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if overlay == "prod":
        volumes.append({"name": "tls", "secret": {"secretName": "tutti-tls", "defaultMode": 0o440}})
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER,
            "runAsGroup": USER,
            "fsGroup": USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if models_image is not None:
        spec["initContainers"] = [models_init_container(models_image)]
    spec["containers"] = [container]
    spec["volumes"] = volumes
    return {"metadata": {"labels": labels}, "spec": spec}
