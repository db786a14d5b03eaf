"""Specialist service: one model behind tutti.v1.StageService."""

from __future__ import annotations

from specialist_service._backend import Backend, Prediction
from specialist_service._config import SpecialistConfig, key_lines, load_specialist_config
from specialist_service._factory import build_backend
from specialist_service._gguf import packaged_gguf
from specialist_service._model_digest import ModelDigestError, check_model_digest
from specialist_service._python import PythonBackend
from specialist_service._servicer import StageServicer, service
from specialist_service._stage_files import stage_files
from tutti.config import Price

__all__ = [
    "Backend",
    "ModelDigestError",
    "Prediction",
    "Price",
    "PythonBackend",
    "SpecialistConfig",
    "StageServicer",
    "build_backend",
    "check_model_digest",
    "key_lines",
    "load_specialist_config",
    "packaged_gguf",
    "service",
    "stage_files",
]
