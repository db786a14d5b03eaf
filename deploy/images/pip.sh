#!/bin/sh
# pip inside an image build: from the host's wheelhouse when WHEELHOUSE_URL is set, else the index.
# Usage (in deploy/Dockerfile): pip.sh install|wheel ARGS...
set -eu
command="$1"
shift
if [ -n "${WHEELHOUSE_URL:-}" ]; then
    exec pip "$command" --no-index --find-links "$WHEELHOUSE_URL" "$@"
fi
if [ -n "${EXTRA_INDEX_URL:-}" ]; then
    exec pip "$command" --extra-index-url "$EXTRA_INDEX_URL" "$@"
fi
exec pip "$command" "$@"
