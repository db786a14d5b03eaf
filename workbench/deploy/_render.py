"""`tutti deploy render`: a self-contained kustomization of one composition's services.

The output folder holds copies of deploy/base and the chosen overlay (and deploy/jaeger for
dev), the composition in base/, a services.yaml with a Deployment, headless Service and
NetworkPolicy for every served stage and, when the composition has a merger stage, for the
merger (plus, in prod, their autoscalers and disruption budgets), and a patch pointing the
router at each of them through `--endpoint STAGE=dns:///tutti-STAGE.NAMESPACE.svc.cluster.local:PORT`.
Nothing in it points back into the Tutti checkout: `kubectl kustomize OUT` builds it wherever
it is copied.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tutti.digest import files_under
from tutti.errors import TuttiError
from workbench.deploy._bundle import Bundle, models_bundle
from workbench.deploy._images import stage_image
from workbench.deploy._manifests import (
    MERGER,
    ROUTER,
    merger_documents,
    resource_name,
    specialist_documents,
)
from workbench.deploy._pod import STAGE_PORT, models_init_container

__all__ = ["DEPLOY", "OVERLAYS", "endpoints", "render"]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OVERLAYS = ("dev", "prod")
# What each overlay's kustomization reaches by relative path, copied beside it in OUT.
COPIED = {"dev": ("base", "jaeger"), "prod": ("base",)}


def endpoints(stages: Mapping[str, Any], namespace: str) -> dict[str, str]:
    """Stage -> the router's in-cluster target, for served stages and merger stages.

    A stage with neither a `serve:` block nor `kind: merger` keeps the endpoint it declares.
    """
    found: dict[str, str] = {}
    for stage, spec in stages.items():
        if spec.is_merger:
            service = MERGER
        elif spec.serve is not None:
            service = resource_name(stage)
        else:
            continue
        found[stage] = f"dns:///{service}.{namespace}.svc.cluster.local:{STAGE_PORT}"
    return found


def render(
    composition: str | Path,
    overlay: str = "dev",
    out: str | Path | None = None,
    namespace: str = "tutti",
    images: Mapping[str, str] | None = None,
) -> Path:
    """Write the manifests of `composition` over deploy/overlays/OVERLAY into OUT; return OUT.

    `images` maps a stage to the image its specialist runs in, over the one chosen from its
    backend and files.
    """
    from router_service import read_composition

    if overlay not in OVERLAYS:
        raise TuttiError(f"unknown overlay {overlay!r}; expected one of {', '.join(OVERLAYS)}")
    if not (DEPLOY / "overlays" / overlay / "kustomization.yaml").is_file():
        raise TuttiError(f"{DEPLOY} not found: `tutti deploy render` runs from a Tutti checkout")
    source = Path(composition)
    draft = read_composition(source)
    if draft.problems:
        raise TuttiError(
            f"{source} has problems; run `tutti check {source}`: "
            + "; ".join(str(p) for p in draft.problems)
        )
    bundle = models_bundle(source)
    served = list(bundle.stages)
    names = [resource_name(stage) for stage in served]
    clashes = {n for n in names if names.count(n) > 1} | ({ROUTER, MERGER} & set(names))
    if clashes:
        raise TuttiError(f"stages map to the same Kubernetes name: {', '.join(sorted(clashes))}")
    unknown = sorted(set(images or {}) - set(served))
    if unknown:
        raise TuttiError(
            f"--image names no served stage: {', '.join(unknown)}"
            f" (served: {', '.join(served) or 'none'})"
        )

    target = Path(out) if out is not None else Path(f"deploy-{draft.name}-{overlay}")
    target.mkdir(parents=True, exist_ok=True)
    _copy_layers(target, overlay)
    shutil.copyfile(source, target / "base" / "composition.yaml")

    models_image = bundle.image if bundle.files else None
    documents = [
        doc
        for stage in served
        for doc in specialist_documents(
            stage,
            overlay,
            _image(bundle, stage, draft.stages[stage].serve or {}, images),
            models_image,
            bundle.stage_digest(stage),
            str((draft.stages[stage].serve or {}).get("backend")),
        )
    ]
    # The router and merger need the folder only for the `imports:` modules beside it.
    folder_image = models_image if bundle.imports else None
    if any(spec.is_merger for spec in draft.stages.values()):
        documents += merger_documents(overlay, folder_image)
    _write_all(target / "services.yaml", documents)
    _write_all(target / "router.yaml", [_router_patch(draft.stages, namespace, folder_image)])
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [f"overlays/{overlay}", "services.yaml"],
        "patches": [
            {
                "path": "router.yaml",
                "target": {"group": "apps", "kind": "Deployment", "name": ROUTER},
            }
        ],
    }
    header = (
        f"# Generated by `tutti deploy render {source} --overlay {overlay}`; render again after"
        " changing the composition or its models.\n"
        f"# Models image: {bundle.image} (build it with `tutti deploy build {source}`).\n"
        "# Apply with: kubectl apply -k .\n"
    )
    (target / "kustomization.yaml").write_text(
        header + yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8"
    )
    return target


def _copy_layers(target: Path, overlay: str) -> None:
    """deploy/base, the overlay (and what it reaches) into OUT, at the same relative places."""
    for layer in (*COPIED[overlay], f"overlays/{overlay}"):
        destination = target / layer
        if destination.exists():
            shutil.rmtree(destination)  # a file dropped from deploy/ must not linger
        shutil.copytree(DEPLOY / layer, destination)


def _image(
    bundle: Bundle, stage: str, serve: Mapping[str, Any], images: Mapping[str, str] | None
) -> str:
    files = files_under(bundle.folder, bundle.stages[stage])
    return stage_image(stage, str(serve.get("backend", "")), bundle.folder, files, images)


def _router_patch(
    stages: Mapping[str, Any], namespace: str, models_image: str | None
) -> list[dict[str, Any]]:
    patch: list[dict[str, Any]] = [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/args/-",
            "value": f"--endpoint={stage}={address}",
        }
        for stage, address in endpoints(stages, namespace).items()
    ]
    if models_image is not None:
        patch.append(
            {
                "op": "add",
                "path": "/spec/template/spec/initContainers",
                "value": [models_init_container(models_image)],
            }
        )
    return patch


def _write_all(path: Path, documents: list[Any]) -> None:
    path.write_text(
        "# Generated by `tutti deploy render`.\n"
        + yaml.safe_dump_all(documents, sort_keys=False, width=100),
        encoding="utf-8",
    )
