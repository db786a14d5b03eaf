"""The argument types the `tutti` flags share: a stage's endpoint or image, a count of at least one."""

from __future__ import annotations

import argparse

__all__ = ["positive_int", "stage_endpoint", "stage_image"]


def stage_endpoint(value: str) -> tuple[str, str]:
    """`STAGE=HOST:PORT` as (stage, address)."""
    stage, sep, address = value.partition("=")
    if not sep or not stage or not address:
        raise argparse.ArgumentTypeError(f"expected STAGE=HOST:PORT, not {value!r}")
    return stage, address


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def stage_image(value: str) -> tuple[str, str]:
    """`STAGE=IMAGE` as (stage, image)."""
    stage, sep, image = value.partition("=")
    if not sep or not stage or not image:
        raise argparse.ArgumentTypeError(f"expected STAGE=IMAGE, not {value!r}")
    return stage, image
