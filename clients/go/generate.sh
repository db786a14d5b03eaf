#!/usr/bin/env bash
# Generate the Go code of the tutti.v1 protos: the one way it is made.
#
# The generated code is committed (clients/go/tutti/v1, clients/go/internal/buf/validate):
# a Go program imports the module as source, and `go build` never runs protoc.
# tests/clients/test_go_generated.py regenerates into a temporary folder and fails when
# the committed copy is stale against protos/.
#
# Needs protoc, protoc-gen-go (APIv2, v1.28) and protoc-gen-go-grpc: the Debian packages
#   protobuf-compiler protoc-gen-go protoc-gen-go-grpc
# and the project's Python (protos/generate.py writes the descriptor set: it carries
# buf/validate/validate.proto, which the repository does not keep as text).
#
# Usage: clients/go/generate.sh [OUT]   (default: clients/go itself)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$HERE}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
MODULE="tutti.dev/go"

for tool in protoc protoc-gen-go protoc-gen-go-grpc; do
    if ! command -v "$tool" >/dev/null; then
        echo "generate.sh: $tool is not installed: apt-get install" \
            "protobuf-compiler protoc-gen-go protoc-gen-go-grpc" >&2
        exit 1
    fi
done
if [ ! -x "$PYTHON" ]; then
    PYTHON="$(command -v python3)"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
IMAGE="$WORK/tutti.binpb"
"$PYTHON" "$ROOT/protos/generate.py" --image "$IMAGE"

# validate.proto names a Go package of its own module (buf.build/gen/go/...), which no
# offline build can fetch: its code lives inside this module instead, where only the
# generated tutti.v1 code imports it (for its field options).
VALIDATE="Mbuf/validate/validate.proto=$MODULE/internal/buf/validate;validate"
OPTS="module=$MODULE,$VALIDATE"
mkdir -p "$OUT"
protoc --descriptor_set_in="$IMAGE" --go_out="$OUT" --go_opt="$OPTS" \
    buf/validate/validate.proto
protoc --descriptor_set_in="$IMAGE" \
    --go_out="$OUT" --go_opt="$OPTS" \
    --go-grpc_out="$OUT" --go-grpc_opt="$OPTS" \
    tutti/v1/payloads.proto tutti/v1/router.proto tutti/v1/stage.proto tutti/v1/merger.proto
