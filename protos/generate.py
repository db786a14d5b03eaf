"""Generate the Python modules for Tutti's protos: the one way they are made.

Usage: python protos/generate.py [--out DIR]   (default: the repository root)

buf/validate/validate.proto is not kept in this repository as text: the
installed protovalidate package carries it as a serialized descriptor, which
is written to a descriptor set and handed to protoc. Its Python module is
generated under its own package name, `buf.validate`, so that the generated
imports resolve without edits.

The gRPC modules get typed stubs (`*_pb2_grpc.pyi`) from mypy-protobuf's
`protoc-gen-mypy_grpc` plugin, installed beside this interpreter (dev extra).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from google.protobuf import (
    descriptor_pb2,
    duration_pb2,
    field_mask_pb2,
    timestamp_pb2,
)
from grpc_tools import protoc

PROTOS = Path(__file__).resolve().parent
ROOT = PROTOS.parent
VALIDATE_PROTO = "buf/validate/validate.proto"


def validate_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """buf/validate/validate.proto and its imports, from the installed packages."""
    from protovalidate._gen.buf.validate import validate_pb

    file_set = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
        file_set.file.add().ParseFromString(module.DESCRIPTOR.serialized_pb)
    file_set.file.add().ParseFromString(validate_pb._DESC.proto.to_binary())
    return file_set


def mypy_grpc_plugin() -> str:
    """mypy-protobuf's protoc plugin for typed gRPC stubs, beside this interpreter or on PATH."""
    name = "protoc-gen-mypy_grpc"
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed; install the dev extras (mypy-protobuf)")
    return found


def own_protos() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))


def _protoc(tmp: Path, *args: str) -> None:
    descriptor_set = tmp / "validate.binpb"
    descriptor_set.write_bytes(validate_descriptor_set().SerializeToString())
    well_known = str(resources.files("grpc_tools") / "_proto")
    argv = [
        "grpc_tools.protoc",
        f"--descriptor_set_in={descriptor_set}",
        f"-I{PROTOS}",
        f"-I{well_known}",
        *args,
    ]
    if protoc.main(argv) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args)}")


def generate(out: Path) -> None:
    """Write the Python modules of every proto under protos/ (and of validate.proto) to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    outputs = (f"--python_out={out}", f"--pyi_out={out}")
    with tempfile.TemporaryDirectory() as tmp:
        _protoc(Path(tmp), *outputs, VALIDATE_PROTO)
        _protoc(
            Path(tmp),
            *outputs,
            f"--grpc_python_out={out}",
            f"--plugin=protoc-gen-mypy_grpc={mypy_grpc_plugin()}",
            f"--mypy_grpc_out={out}",
            *own_protos(),
        )


def image(path: Path) -> None:
    """Write a buf image (a FileDescriptorSet with source info) of every proto, for `buf lint`."""
    with tempfile.TemporaryDirectory() as tmp:
        _protoc(
            Path(tmp),
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={path}",
            *own_protos(),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: %(default)s)")
    parser.add_argument("--image", type=Path, help="write a buf image to this file instead")
    args = parser.parse_args(argv)
    if args.image:
        image(args.image)
    else:
        generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
