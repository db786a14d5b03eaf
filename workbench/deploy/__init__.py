"""`tutti deploy render`: a self-contained kustomization of a composition's services.

`_bundle` names a composition's models (files, digest, image) and `_build` packs them into
that image; `_images` picks each stage's image; `_pod` and `_manifests` build a service's pod
and documents; `_render` writes them with copies of deploy/base and the overlay, and the
router's endpoints.
"""

from __future__ import annotations

from workbench.deploy._build import DEFAULT_BASE, build_models_image
from workbench.deploy._bundle import Bundle, models_bundle
from workbench.deploy._images import (
    MERGER_IMAGE,
    ROUTER_IMAGE,
    SPECIALIST_IMAGES,
    VERSION,
    stage_image,
)
from workbench.deploy._manifests import MERGER, ROUTER, resource_name
from workbench.deploy._pod import (
    COMPOSITION_PATH,
    FOLDER,
    GRACE_S,
    HEALTH_PORT,
    ROUTER_HEALTH_PORT,
    ROUTER_PORT,
    STAGE_PORT,
    TLS_DIR,
)
from workbench.deploy._render import DEPLOY, OVERLAYS, endpoints, render

__all__ = [
    "COMPOSITION_PATH",
    "DEFAULT_BASE",
    "DEPLOY",
    "FOLDER",
    "GRACE_S",
    "HEALTH_PORT",
    "MERGER",
    "MERGER_IMAGE",
    "OVERLAYS",
    "ROUTER",
    "ROUTER_HEALTH_PORT",
    "ROUTER_IMAGE",
    "ROUTER_PORT",
    "SPECIALIST_IMAGES",
    "STAGE_PORT",
    "TLS_DIR",
    "VERSION",
    "Bundle",
    "build_models_image",
    "endpoints",
    "models_bundle",
    "render",
    "resource_name",
    "stage_image",
]
