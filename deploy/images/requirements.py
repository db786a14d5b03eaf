"""The pinned requirements of a role's extras, read from pyproject.toml (one a line, for pip -r).

The role images install their dependencies before the sources, so that a change to the code
reuses the layers that hold torch or scikit-learn; this names those dependencies without the
sources. `tutti[sklearn]` inside an extra is followed, as pip would.

    python3 deploy/images/requirements.py [--pyproject PATH] [EXTRA ...]
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

_SELF = re.compile(r"^tutti\[(?P<extras>[^\]]+)\]$")


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The base dependencies and those of `extras` (and the extras they name), in order, once."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = []
    seen_extras: set[str] = set()

    def add(requirement: str) -> None:
        self_reference = _SELF.match(requirement.strip())
        if self_reference is None:
            if requirement not in found:
                found.append(requirement)
            return
        for extra in self_reference["extras"].split(","):
            add_extra(extra.strip())

    def add_extra(extra: str) -> None:
        if extra in seen_extras:
            return
        if extra not in optional:
            raise SystemExit(f"requirements.py: pyproject.toml has no extra {extra!r}")
        seen_extras.add(extra)
        for requirement in optional[extra]:
            add(requirement)

    for requirement in project["dependencies"]:
        add(requirement)
    for extra in extras:
        add_extra(extra)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", metavar="EXTRA")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args()
    print("\n".join(requirements(args.pyproject, args.extras)))


if __name__ == "__main__":
    main()
