#!/usr/bin/env bash
# Build the Go client offline, as a Go module, from Debian's Go sources.
#
# tutti.dev/go is an ordinary module (go.mod names grpc-go 1.33.3 and protobuf-go 1.28.1);
# offline.sh adds the `replace` lines that point its graph at /usr/share/gocode, so the
# build runs with GOPROXY=off. The generated code of the protos is committed (generate.sh
# makes it): nothing here runs protoc.
#
# Needs the Debian packages golang-go golang-google-grpc-dev golang-google-protobuf-dev
# golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev (`make go-client`).
#
# Usage: clients/go/build.sh   -> clients/go/build/bin/tutti-route
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build"

if ! command -v go >/dev/null; then
    echo "build.sh: go is not installed: run \`make go-client\`, or apt-get install golang-go" \
        "golang-google-grpc-dev golang-google-protobuf-dev" \
        "golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev" >&2
    exit 1
fi

MODFILE="$("$HERE/offline.sh" "$HERE")"
export GOPROXY=off GOSUMDB=off CGO_ENABLED=0
export GOFLAGS="-mod=mod -modfile=$MODFILE"
# The build cache lives beside the build, so a second build (and the tests') reuses it.
export GOCACHE="${GOCACHE:-$BUILD/cache}"
export GOMODCACHE="${GOMODCACHE:-$BUILD/modcache}"
mkdir -p "$BUILD/bin"
cd "$HERE"
go vet ./tutti/... ./cmd/...
go build -o "$BUILD/bin/tutti-route" ./cmd/tutti-route
echo "built $BUILD/bin/tutti-route" >&2
