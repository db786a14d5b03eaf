"""A composition's models bundle: the files its pods need, their digest and the image named by it.

`tutti deploy build` packs `Bundle.files` at `/models/<relative path>` into
`Bundle.image`; `tutti deploy render` names that image in every pod's
initContainer and hands each specialist the digest of its own stage's files.
The tag is the content digest, so two compositions whose folders hold the same
names (`models/cheap`) but other bytes can never share an image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from tutti.digest import files_under, tree_digest
from tutti.errors import TuttiError

__all__ = ["Bundle", "import_files", "models_bundle", "served_stages"]

TAG_LENGTH = 12


@dataclass(frozen=True)
class Bundle:
    """What a composition's models image holds and is called.

    `files` are relative POSIX paths of files under `folder` (the composition file's
    folder; the folders a stage names are walked, a missing file is kept as named);
    `digest` is `tree_digest(folder, files)`; `image` is
    `tutti-models-<composition>:<first 12 hex of the digest>`. `stages` maps each
    served stage to its own files (`specialist_service.stage_files`), whose digest the
    specialist checks at start-up; `imports` are the files of the composition's
    `imports:` modules that live beside it (a user's `_pb2`), which the router needs too.
    """

    folder: Path
    files: tuple[str, ...]
    digest: str
    image: str
    stages: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    imports: tuple[str, ...] = ()

    def stage_digest(self, stage: str) -> str:
        """The `--model-digest` of one served stage: the digest of its own files."""
        return tree_digest(self.folder, self.stages[stage])


def served_stages(composition: str | Path) -> list[str]:
    """The stages of a composition that a specialist serves (a `serve:` block, not a merger)."""
    from router_service import read_composition

    draft = read_composition(Path(composition))
    return [
        name for name, spec in draft.stages.items() if spec.serve is not None and not spec.is_merger
    ]


def models_bundle(composition: str | Path) -> Bundle:
    """The files, digest and image of a composition's models: every served stage's files, and
    the `imports:` modules found beside the composition (the stages import them too)."""
    from router_service import read_composition
    from specialist_service import stage_files
    from workbench.serve_blocks import stage_config

    path = Path(composition)
    draft = read_composition(path)
    if not draft.name:
        raise TuttiError(f"{path} names no composition")
    folder = path.resolve().parent
    stages = {stage: tuple(stage_files(stage_config(path, stage))) for stage in served_stages(path)}
    beside = tuple(import_files(draft.document.get("imports"), folder))
    # Folders a stage names are walked here, so the build copies files, not guesses.
    files = tuple(files_under(folder, {*beside, *(f for own in stages.values() for f in own)}))
    digest = tree_digest(folder, files)
    image = f"{models_repository(draft.name)}:{digest.partition(':')[2][:TAG_LENGTH]}"
    return Bundle(folder, files, digest, image, MappingProxyType(stages), beside)


def models_repository(composition: str) -> str:
    """The image repository of a composition's models: support-desk -> tutti-models-support-desk."""
    name = "tutti-models-" + re.sub(r"[^a-z0-9]+", "-", composition.lower()).strip("-")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) or len(name) > 128:
        raise TuttiError(f"composition {composition!r} gives no valid image name ({name!r})")
    return name


def import_files(modules: object, folder: Path) -> list[str]:
    """The files under `folder` that importing `modules` (an `imports:` list) reads from there:
    each module's `.py` (or package folder) and the `__init__.py` of the packages above it."""
    if not isinstance(modules, list | tuple):
        return []
    found: set[str] = set()
    for module in modules:
        if not isinstance(module, str) or not module:
            continue
        parts = module.split(".")
        for depth in range(1, len(parts)):
            init = folder.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                found.add(init.relative_to(folder).as_posix())
        source = folder.joinpath(*parts[:-1], f"{parts[-1]}.py")
        package = folder.joinpath(*parts)
        if source.is_file():
            found.add(source.relative_to(folder).as_posix())
        elif package.is_dir():
            found.update(
                p.relative_to(folder).as_posix()
                for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            )
    return sorted(found)
