#!/bin/sh
# pip inside an image build: from the host's wheelhouse when WHEELHOUSE_URL is set, else the index.
# Usage (in deploy/Dockerfile): pip.sh install|wheel ARGS...
set -eu
command="$1"
shift
if [ -n "${WHEELHOUSE_URL:-}" ]; then
    # As variables, not flags: pip's isolated build environment (setuptools for the tutti
    # wheel) reads them too.
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELHOUSE_URL"
    exec pip "$command" "$@"
fi
if [ -n "${EXTRA_INDEX_URL:-}" ]; then
    exec pip "$command" --extra-index-url "$EXTRA_INDEX_URL" "$@"
fi
exec pip "$command" "$@"
