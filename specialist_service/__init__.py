"""Specialist service: one model behind tutti.v1.StageService."""

from __future__ import annotations

from specialist_service._backends import (
    Backend,
    Prediction,
    PythonBackend,
    SklearnBackend,
    build_backend,
)
from specialist_service._config import Price, SpecialistConfig, key_lines, load_specialist_config
from specialist_service._servicer import StageServicer, service

__all__ = [
    "Backend",
    "Prediction",
    "Price",
    "PythonBackend",
    "SklearnBackend",
    "SpecialistConfig",
    "StageServicer",
    "build_backend",
    "key_lines",
    "load_specialist_config",
    "service",
]
