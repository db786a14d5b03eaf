#!/usr/bin/env bash
# The wheelhouse: every role image's Python dependencies as wheels, made with the host's pip.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: deploy/images/wheelhouse.sh [--print-dir] [--force]

Make, with the host's pip (which reaches the package index), a folder of wheels holding every
dependency the role images install (pyproject.toml's base install and its sklearn, embeddings
and llm extras) and the build tools of the tutti wheel itself. A build inside docker then
installs from it with `pip install --no-index --find-links`, and needs no index.

The folder is ${XDG_CACHE_HOME:-~/.cache}/tutti/wheelhouse/KEY, KEY a hash of pyproject.toml:
a wheelhouse whose KEY matches is reused as it is. The last line printed is the folder.

  --print-dir   print the folder for this pyproject.toml and exit (nothing is made)
  --force       make it again even if it exists

Environment: PYTHON (default python3; must be Python 3.11, as the images' python is).
llama-cpp-python has no wheel on the index: pip compiles it (about 11 minutes on 2 cores)
unless its wheel cache already holds the build (~/.cache/pip/wheels), which it then reuses.
torch: whichever 2.13.0 wheel the host's pip resolves; a CPU-only one (2.13.0+cpu, about
190 MB) when pip is given a find-links or index that holds it, else PyPI's, which pulls the
CUDA libraries (several GB).
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
print_dir=0
force=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --print-dir) print_dir=1; shift ;;
        --force) force=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "wheelhouse.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

key="$(sha256sum "$repo/pyproject.toml" | cut -c1-16)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/tutti/wheelhouse/$key"
if [[ "$print_dir" == 1 ]]; then
    echo "$dir"
    exit 0
fi
if [[ "$force" == 0 && -f "$dir/.complete" ]]; then
    echo "wheelhouse for pyproject.toml $key exists: reused"
    echo "$dir"
    exit 0
fi

"$python" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"wheelhouse.sh: {sys.executable} is Python {sys.version.split()[0]}; the images run 3.11")
PY

requirements="$(mktemp)"
partial="$dir.partial"
trap 'rm -f "$requirements"' EXIT
"$python" "$here/requirements.py" --pyproject "$repo/pyproject.toml" sklearn embeddings llm >"$requirements"
# The tutti wheel builds inside the image with these (pyproject.toml's build-system).
printf '%s\n' 'setuptools>=68' 'wheel' >>"$requirements"
rm -rf "$partial"
mkdir -p "$partial"
echo "pip wheel into $partial"
"$python" -m pip wheel --quiet --wheel-dir "$partial" -r "$requirements"
touch "$partial/.complete"
rm -rf "$dir"
mv "$partial" "$dir"
echo "wheelhouse: $(find "$dir" -name '*.whl' | wc -l) wheels, $(du -sh "$dir" | cut -f1)"
echo "$dir"
