"""The backends configured by a section of their own (`openai:`, `gguf:`, `oip:`), read at load.

Reading a section checks everything that needs no server and no model file:
its keys, their values, the prompt against the stage's types, the tensor
mapping against its fields. What it finds is reported with the rest of the
file's problems; what it reads is the section's plan, which the backend's
build turns into a running backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, assert_never, get_args

from specialist_service import _gguf, _oip_plan, _openai_plan
from tutti.config import Problems
from tutti.messages import MessageTypes

__all__ = ["SECTION_BACKENDS", "SectionBackend", "SectionPlan", "read_section", "section_backend"]

SectionBackend = Literal["openai", "oip", "gguf"]
SECTION_BACKENDS: tuple[SectionBackend, ...] = get_args(SectionBackend)
SectionPlan = _openai_plan.OpenAIPlan | _gguf.GgufPlan | _oip_plan.OipPlan


def section_backend(name: str) -> SectionBackend | None:
    """`name` typed as a section backend's, or None when it has no section."""
    return next((backend for backend in SECTION_BACKENDS if backend == name), None)


def read_section(
    backend: SectionBackend,
    data: Mapping[str, object],
    problems: Problems,
    input_type: str,
    output_type: str,
    types: MessageTypes,
    *,
    base_dir: Path,
) -> SectionPlan | None:
    """The backend's section read into its plan; None when a problem was reported."""
    args = (data, problems, input_type, output_type, types, base_dir)
    match backend:
        case "openai":
            return _openai_plan.read(*args)
        case "gguf":
            return _gguf.read(*args)
        case "oip":
            return _oip_plan.read(*args)
        case _:
            assert_never(backend)
