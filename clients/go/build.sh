#!/usr/bin/env bash
# Build the Go client offline, from Debian's Go packages, in GOPATH mode.
#
# Needs: go, protoc, protoc-gen-go (with its grpc plugin) and the sources of
# grpc-go and golang/protobuf under /usr/share/gocode, i.e. the Debian packages
#   golang-go golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler
# (`make go-client` installs them when go is missing).
#
# The Go code of the protos is generated here, at build time, into build/
# (gitignored), never committed: from a FileDescriptorSet that
# protos/generate.py writes, which carries buf/validate/validate.proto (not
# kept in the repository as text) and the google/protobuf imports.
#
# Usage: clients/go/build.sh   -> clients/go/build/bin/tutti-route
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
GOCODE="${GOCODE:-/usr/share/gocode}"
# The Go import path under which the generated packages live in build/src.
GEN="tutti.example/gen"

for tool in go protoc protoc-gen-go; do
    if ! command -v "$tool" >/dev/null; then
        echo "build.sh: $tool is not installed: run \`make go-client\`, or apt-get install" \
            "golang-go golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler" >&2
        exit 1
    fi
done
for dir in google.golang.org/grpc github.com/golang/protobuf/proto; do
    if [ ! -d "$GOCODE/src/$dir" ]; then
        echo "build.sh: $GOCODE/src/$dir is missing: apt-get install" \
            "golang-google-grpc-dev golang-goprotobuf-dev" >&2
        exit 1
    fi
done
if [ ! -x "$PYTHON" ]; then
    PYTHON="$(command -v python3)"
fi

rm -rf "$BUILD/src" "$BUILD/bin"
mkdir -p "$BUILD/src/$GEN" "$BUILD/bin"

IMAGE="$BUILD/tutti.binpb"
"$PYTHON" "$ROOT/protos/generate.py" --image "$IMAGE"

# Every file gets its Go package from an M option: the protos have no go_package.
# The google/protobuf ones map to the packages Debian ships (golang/protobuf 1.3, genproto).
MAPPINGS=(
    "Mgoogle/protobuf/any.proto=github.com/golang/protobuf/ptypes/any"
    "Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor"
    "Mgoogle/protobuf/duration.proto=github.com/golang/protobuf/ptypes/duration"
    "Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp"
    "Mgoogle/protobuf/field_mask.proto=google.golang.org/genproto/protobuf/field_mask"
    "Mbuf/validate/validate.proto=$GEN/buf/validate"
    "Mtutti/v1/payloads.proto=$GEN/tutti/v1"
    "Mtutti/v1/router.proto=$GEN/tutti/v1"
    "Mtutti/v1/stage.proto=$GEN/tutti/v1"
    "Mtutti/v1/merger.proto=$GEN/tutti/v1"
    "Mtutti/support/v1/support.proto=$GEN/tutti/support/v1"
)
GO_OPT="plugins=grpc,paths=source_relative"
for m in "${MAPPINGS[@]}"; do
    GO_OPT="$GO_OPT,$m"
done

# protoc-gen-go 1.3 generates one Go package per protoc call; source_relative
# puts each file at its proto path under $GEN, where the M options say it is.
gen() {
    protoc --descriptor_set_in="$IMAGE" --go_out="$GO_OPT:$BUILD/src/$GEN" "$@"
}
# buf/validate/validate.proto only adds field options, but the generated
# support package imports it (for its side effects), so it is generated too.
gen buf/validate/validate.proto
gen tutti/v1/payloads.proto tutti/v1/router.proto tutti/v1/stage.proto tutti/v1/merger.proto
gen tutti/support/v1/support.proto

export GO111MODULE=off
export GOPATH="$BUILD:$GOCODE"
export GOFLAGS=
export CGO_ENABLED=0
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ]; then
    export GOCACHE="$BUILD/cache"
fi
cd "$HERE"
go build -o "$BUILD/bin/tutti-route" ./main.go
echo "built $BUILD/bin/tutti-route" >&2
