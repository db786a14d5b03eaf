"""`tutti deploy render`: a kustomization with a composition's services over deploy/overlays.

`_bundle` names a composition's models (files, digest, image); `_manifests` builds one
served stage's documents; `_render` writes them, the router's endpoints and the
kustomization.
"""

from __future__ import annotations

from workbench.deploy._bundle import Bundle, models_bundle
from workbench.deploy._manifests import GRACE_S, ROUTER_PORT, STAGE_PORT, resource_name
from workbench.deploy._render import DEPLOY, OVERLAYS, endpoints, render

__all__ = [
    "DEPLOY",
    "GRACE_S",
    "OVERLAYS",
    "ROUTER_PORT",
    "STAGE_PORT",
    "Bundle",
    "endpoints",
    "models_bundle",
    "render",
    "resource_name",
]
