#!/usr/bin/env bash
# Build every role image (router, merger, three specialists) from deploy/Dockerfile.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: deploy/images/build.sh [--public] [--base IMAGE] [--version V] [ROLE ...]

Build tutti-ROLE:V for each ROLE (default: all of router merger specialist-sklearn
specialist-embeddings specialist-llm) from deploy/Dockerfile, and print their sizes.

Offline (the default): the base image is tutti-base:bookworm (deploy/images/base.sh makes it
when missing) and every Python package comes from the host's wheelhouse
(deploy/images/wheelhouse.sh, reused while pyproject.toml is unchanged), served to the build
on http://127.0.0.1:${WHEELHOUSE_PORT:-8639}/ (builds run with --network host).
A second run reuses the base image, the wheelhouse and docker's layer cache.

  --public      FROM python:3.11-slim and pip from the index (needs a registry and the index;
                EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu gives the CPU torch)
  --base IMAGE  another base (python3 3.11 with venv)
  --version V   the tag (default 0.1.0)

A docker daemon is started (deploy/images/dockerd.sh) when none answers, and stopped at the end.
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version=0.1.0
base=""
public=0
roles=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --public) public=1; shift ;;
        --base) base="$2"; shift 2 ;;
        --version) version="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "build.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
        *) roles+=("$1"); shift ;;
    esac
done
[[ ${#roles[@]} -gt 0 ]] || roles=(router merger specialist-sklearn specialist-embeddings specialist-llm)

cleanup=()
on_exit() {
    local step
    for step in "${cleanup[@]}"; do eval "$step" || true; done
}
trap on_exit EXIT

if [[ "$("$here/dockerd.sh" start)" == started ]]; then
    cleanup+=("'$here/dockerd.sh' stop >/dev/null")
fi
# The classic builder when buildx is not installed (Debian's docker.io ships none).
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

args=(--network host --force-rm)
if [[ "$public" == 1 ]]; then
    base="${base:-python:3.11-slim}"
    [[ -z "${EXTRA_INDEX_URL:-}" ]] || args+=(--build-arg "EXTRA_INDEX_URL=$EXTRA_INDEX_URL")
else
    if [[ -z "$base" ]]; then
        base=tutti-base:bookworm
        "$here/base.sh" --tag "$base"
    fi
    wheelhouse="$("$here/wheelhouse.sh" | tail -1)"
    port="${WHEELHOUSE_PORT:-8639}"
    # The URL is fixed (not a free port): a build argument that changed would miss the cache.
    python3 -m http.server --bind 127.0.0.1 --directory "$wheelhouse" "$port" \
        >"${TMPDIR:-/tmp}/tutti-wheelhouse-http.log" 2>&1 &
    cleanup+=("kill $!")
    for _ in $(seq 50); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
            2>/dev/null && break
        sleep 0.2
    done
    args+=(--build-arg "WHEELHOUSE_URL=http://127.0.0.1:$port/")
fi
args+=(--build-arg "BASE=$base")

for role in "${roles[@]}"; do
    start=$SECONDS
    echo "== tutti-$role:$version (FROM $base)"
    docker build "${args[@]}" -f "$repo/deploy/Dockerfile" --target "$role" \
        -t "tutti-$role:$version" "$repo"
    echo "== tutti-$role:$version built in $((SECONDS - start)) s"
done
echo
printf '%-36s %10s\n' IMAGE 'SIZE (MB)'
for role in "${roles[@]}"; do
    size="$(docker image inspect -f '{{.Size}}' "tutti-$role:$version")"
    printf '%-36s %10d\n' "tutti-$role:$version" "$((size / 1000000))"
done
