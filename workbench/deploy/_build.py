"""`tutti deploy build`: a composition's model files packed into its models image.

The image is `Bundle.image` (tutti-models-<composition>:<12 hex of the files' digest>),
FROM a base image that has `cp`, with every file of `models_bundle(composition)` at
`/models/<path relative to the composition's folder>`. A pod's initContainer (or
`docker run --rm -v VOLUME:/srv/composition IMAGE cp -a /models/. /srv/composition/`)
copies them into the composition's folder, where the specialists load them.

The build context is streamed to `docker build -` as a tar made here, so nothing is
copied to disk and no other file of the composition's folder reaches the daemon.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tutti.errors import TuttiError
from workbench.deploy._bundle import Bundle, models_bundle

__all__ = [
    "DEFAULT_BASE",
    "MODELS_ROOT",
    "build_models_image",
    "missing_files",
    "models_dockerfile",
]

# The offline base deploy/images/base.sh makes; any image with /bin/cp will do.
DEFAULT_BASE = "tutti-base:bookworm"
MODELS_ROOT = "/models"
# Readable by the services' user (10001) whatever the umask of the machine that built it.
_FILE_MODE = 0o644
_DIR_MODE = 0o755


def models_dockerfile(base: str, bundle: Bundle) -> str:
    """The Dockerfile of a models image: the base and one layer of files, labelled."""
    return (
        f"FROM {base}\n"
        f"COPY models/ {MODELS_ROOT}/\n"
        f'LABEL dev.tutti.models.digest="{bundle.digest}" '
        f'dev.tutti.models.files="{len(bundle.files)}"\n'
        'CMD ["ls", "-R", "/models"]\n'
    )


def missing_files(bundle: Bundle) -> list[str]:
    """The bundle's files that are not there (a model not trained yet)."""
    return [name for name in bundle.files if not (bundle.folder / name).is_file()]


def build_models_image(
    composition: str | Path,
    base: str = DEFAULT_BASE,
    log: Callable[[str], None] = print,
    docker: str = "docker",
) -> str:
    """Build the composition's models image and return its name; raise if a file is missing."""
    path = Path(composition)
    bundle = models_bundle(path)
    missing = missing_files(bundle)
    problems = _serve_problems(path)
    if missing or problems:
        raise TuttiError(_missing_message(path, missing, problems))
    log(f"{bundle.image}: {len(bundle.files)} files from {bundle.folder} ({bundle.digest})")
    argv = [docker, "build", "--network", "host", "--tag", bundle.image, "-"]
    log(f"docker build FROM {base}")
    try:
        build = subprocess.Popen(argv, stdin=subprocess.PIPE)
    except FileNotFoundError:
        raise TuttiError(f"{docker} is not installed: a models image needs docker") from None
    with build:
        assert build.stdin is not None
        try:
            _write_context(build.stdin, base, bundle, log)
        except BrokenPipeError:
            pass  # docker stopped reading: its exit code and output say why
        finally:
            build.stdin.close()
        code = build.wait()
    if code != 0:
        raise TuttiError(f"docker build of {bundle.image} failed (exit {code})")
    return bundle.image


def _write_context(
    stream: IO[bytes], base: str, bundle: Bundle, log: Callable[[str], None]
) -> None:
    with tarfile.open(fileobj=stream, mode="w|") as context:
        _add_bytes(context, "Dockerfile", models_dockerfile(base, bundle).encode())
        folders: set[str] = set()
        for name in bundle.files:
            parts = Path(name).parts
            for depth in range(1, len(parts)):
                folder = "/".join(("models", *parts[:depth]))
                if folder not in folders:
                    folders.add(folder)
                    _add_folder(context, folder)
            source = bundle.folder / name
            info = context.gettarinfo(str(source), arcname=f"models/{name}")
            _own(info, _FILE_MODE)
            with source.open("rb") as data:
                context.addfile(info, data)
            log(f"  + {name} ({info.size} bytes)")


def _add_bytes(context: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    _own(info, _FILE_MODE)
    context.addfile(info, io.BytesIO(data))


def _add_folder(context: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    _own(info, _DIR_MODE)
    context.addfile(info)


def _own(info: tarfile.TarInfo, mode: int) -> None:
    # Fixed owner and time: the same files give the same layer, whoever builds them.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    info.mode = mode


def _serve_problems(composition: Path) -> list[str]:
    """What `tutti check` finds wrong in the serve blocks: a model file or factory not there."""
    from router_service import read_composition
    from workbench.serve_blocks import serve_problems

    return [str(problem) for problem in serve_problems(read_composition(composition))]


def _missing_message(composition: Path, missing: list[str], problems: list[str]) -> str:
    lines = [f"{composition}: no models image was built:"]
    if missing:
        lines.append(f"{len(missing)} file(s) its served stages load are not there:")
        lines += [f"  {name}" for name in missing]
    if problems:
        lines.append("what `tutti check` says:")
        lines += [f"  {problem}" for problem in problems]
    lines.append(f"make them (train them) first: `tutti check {composition}` says how")
    return "\n".join(lines)
