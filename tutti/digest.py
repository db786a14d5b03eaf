"""The content digest of a set of files: how a composition's model files are named and checked.

`tutti deploy build` tags the image that carries a composition's model files
with their digest, `tutti deploy render` hands each specialist the digest of
its own files, and a specialist started with one refuses to serve files whose
digest differs. The digest covers each file's path relative to the root and
its bytes, so a renamed, added, removed or changed file changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["files_under", "tree_digest"]

PREFIX = "sha256:"


def files_under(root: Path, paths: Iterable[str]) -> list[str]:
    """The files `paths` name under `root` (folders walked), as sorted relative POSIX paths.

    A path that does not exist is kept as given, so the digest of a missing
    file differs from the digest of the file.
    """
    found: set[str] = set()
    for relative in paths:
        path = root / relative
        if path.is_dir():
            found.update(
                item.relative_to(root).as_posix()
                for item in path.rglob("*")
                if item.is_file() and not _bytecode(item)
            )
        else:
            found.add(Path(relative).as_posix())
    return sorted(found)


def _bytecode(path: Path) -> bool:
    # Written by whichever Python last imported a module there: not the composition's content.
    return path.suffix == ".pyc" or "__pycache__" in path.parts


def tree_digest(root: Path, paths: Iterable[str]) -> str:
    """`sha256:HEX` over the files `paths` name under `root`: their relative paths and bytes."""
    total = hashlib.sha256()
    for relative in files_under(root, paths):
        path = root / relative
        if path.is_file():
            with path.open("rb") as file:
                content = hashlib.file_digest(file, "sha256").hexdigest()
        else:
            content = "missing"
        total.update(f"{relative}\0{content}\n".encode())
    return PREFIX + total.hexdigest()
