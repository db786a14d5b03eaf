#!/usr/bin/env bash
# Print the path of an offline go.mod for a Go module: its own go.mod plus a `replace` for
# every module of tutti.dev/go's graph, pointing at Debian's Go sources.
#
# Build with it and nothing is fetched (no module proxy, no checksum database):
#   MODFILE="$(clients/go/offline.sh path/to/your/module)"
#   cd path/to/your/module && GOPROXY=off GOFLAGS="-mod=mod -modfile=$MODFILE" go build ./...
#
# A module whose sources Debian ships (/usr/share/gocode/src: grpc-go 1.33, protobuf-go
# 1.28, golang/protobuf 1.5, genproto, x/net, x/sys, x/text) is replaced by that folder.
# The others are only named by go.mod files in the graph (grpc's xds, genproto's linters)
# and no package of theirs is built: each is replaced by an empty module, so the graph
# resolves without their sources. The module's own go.mod is left as a user writes it;
# -mod=mod adds to the copy what the offline graph needs.
#
# Needs the Debian packages golang-go golang-google-grpc-dev golang-google-protobuf-dev
# golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GOCODE="${GOCODE:-/usr/share/gocode}/src"
OFFLINE="${TUTTI_GO_OFFLINE:-$HERE/build/offline}"

if [ $# -ne 1 ] || [ ! -f "$1/go.mod" ]; then
    echo "usage: clients/go/offline.sh MODULE_DIR   (a folder with a go.mod)" >&2
    exit 2
fi
MODULE_DIR="$(cd "$1" && pwd)"

SHIPPED=(
    google.golang.org/grpc
    google.golang.org/protobuf
    google.golang.org/genproto
    github.com/golang/protobuf
    github.com/google/go-cmp
    golang.org/x/net
    golang.org/x/oauth2
    golang.org/x/sys
    golang.org/x/text
)
NAMED_ONLY=(
    cloud.google.com/go/compute/metadata
    github.com/cncf/udpa/go
    github.com/envoyproxy/go-control-plane
    github.com/golang/glog
    github.com/google/uuid
    golang.org/x/lint
    golang.org/x/mod
    golang.org/x/term
    golang.org/x/tools
    google.golang.org/appengine
    honnef.co/go/tools
)

for module in "${SHIPPED[@]}"; do
    if [ ! -f "$GOCODE/$module/go.mod" ]; then
        echo "offline.sh: $GOCODE/$module is missing: apt-get install golang-go" \
            "golang-google-grpc-dev golang-google-protobuf-dev" \
            "golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev" >&2
        exit 1
    fi
done

mkdir -p "$OFFLINE"
# One modfile per module folder, named after its path, so that two modules never share one.
NAME="$(printf '%s' "$MODULE_DIR" | tr -c 'A-Za-z0-9' '_')"
MODFILE="$OFFLINE/$NAME.mod"
cp "$MODULE_DIR/go.mod" "$MODFILE"
if [ -f "$MODULE_DIR/go.sum" ]; then
    cp "$MODULE_DIR/go.sum" "${MODFILE%.mod}.sum"
fi
EDITS=()
for module in "${SHIPPED[@]}"; do
    EDITS+=("-replace=$module=$GOCODE/$module")
done
for module in "${NAMED_ONLY[@]}"; do
    mkdir -p "$OFFLINE/empty/$module"
    echo "module $module" >"$OFFLINE/empty/$module/go.mod"
    EDITS+=("-replace=$module=$OFFLINE/empty/$module")
done
go mod edit "${EDITS[@]}" "$MODFILE"
echo "$MODFILE"
