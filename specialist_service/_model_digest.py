"""The check a specialist makes before its model loads: its files are the ones it was rendered with.

`tutti deploy render` hands each specialist `--model-digest`, the digest
(tutti/digest.py) of the files its `serve:` block loads (`stage_files`),
computed when the models image was built. A pod whose mounted files differ
(an older image, a file left out, a model retrained since) must not serve
another model under the stage's name: it refuses to start, and says which
files it looked at and what to run again.
"""

from __future__ import annotations

from specialist_service._config import SpecialistConfig
from specialist_service._stage_files import stage_files
from tutti.digest import tree_digest
from tutti.errors import ConfigError, Problem

__all__ = ["ModelDigestError", "check_model_digest"]


class ModelDigestError(ConfigError):
    """A specialist's model files are missing or are not the ones its digest names."""


def check_model_digest(config: SpecialistConfig, expected: str) -> str:
    """The digest of the files `config` loads, when it is `expected` and none is missing.

    Raises ModelDigestError otherwise, naming the configuration's file, the
    stage, the files (the missing ones apart), both digests and the remedy.
    Reads the files; imports and loads nothing.
    """
    files = stage_files(config)
    found = tree_digest(config.base_dir, files)
    missing = [name for name in files if not (config.base_dir / name).exists()]
    if found == expected and not missing:
        return found
    listed = ", ".join(files) if files else "no files"
    what = (
        f"model files missing: {', '.join(missing)}"
        if missing
        else "the model files differ from those this specialist was rendered with"
    )
    message = (
        f"{what}; --model-digest expects {expected}, the files under {config.base_dir}"
        f" ({listed}) give {found}. Mount the models image the composition was rendered with,"
        " or run `tutti deploy build` again and render again (`tutti deploy render`) so that"
        " the image and the digest agree"
    )
    raise ModelDigestError(Problem(config.source, 0, message, config.stage))
