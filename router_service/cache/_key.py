"""The cache key of one stage call: the stage, its model version and its input, hashed."""

from __future__ import annotations

import hashlib

__all__ = ["KEY_PREFIX", "cache_key"]

KEY_PREFIX = "tutti:stage:"


def cache_key(stage: str, model_version: str, payload_type_url: str, payload_bytes: bytes) -> str:
    """The cache key of one stage call: `tutti:stage:` and a sha256 over its inputs."""
    digest = hashlib.sha256()
    # Length-prefixing each part keeps ("ab", "c") and ("a", "bc") apart.
    for part in (
        stage.encode(),
        model_version.encode(),
        payload_type_url.encode(),
        payload_bytes,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return KEY_PREFIX + digest.hexdigest()
