#!/usr/bin/env bash
# The offline base image: a Debian bookworm root filesystem (debootstrap) imported into docker.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: deploy/images/base.sh [--force] [--tag IMAGE] [--mirror URL]

Make the base image the role images build FROM when no registry is reachable: a minimal
Debian bookworm (debootstrap --variant=minbase) with python3 and python3-venv (Python 3.11,
as python:3.11-slim), ca-certificates and libgomp1, imported with `docker import`. Skipped when IMAGE already exists.

  --tag IMAGE   the image to make (default: tutti-base:bookworm)
  --mirror URL  the Debian mirror (default: http://deb.debian.org/debian)
  --force       make it again even if IMAGE exists

Needs root, debootstrap and a running docker daemon (apt-get install -y docker.io debootstrap).
USAGE
}

tag=tutti-base:bookworm
mirror=http://deb.debian.org/debian
force=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tag) tag="$2"; shift 2 ;;
        --mirror) mirror="$2"; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "base.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [[ "$force" == 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base image $tag exists: kept (--force makes it again)"
    exit 0
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/tutti-base.XXXXXX")"
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (a few minutes)"
# ca-certificates: an openai stage may call a server over TLS; libgomp1: llama.cpp's OpenMP
# runtime (the gguf backend). The .debs are kept for the next --force.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tutti/debootstrap"
mkdir -p "$cache"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,libgomp1 \
    --cache-dir="$cache" bookworm "$root" "$mirror"
# Nothing in a container runs apt or reads a manual: their lists, caches and pages only weigh
# (the router image is to stay under 250 MB).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$tag"
echo "base image $tag: $(docker image inspect -f '{{.Size}}' "$tag") bytes"
