"""`tutti recommend` as a command: gather the answers, write the starter composition, say why."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from workbench.recommend._questions import AnswerError, gather
from workbench.recommend._rules import recommend

__all__ = ["questionnaire"]


def questionnaire(
    *,
    structure: str | None,
    simple_share: int | None,
    latency: str | None,
    cost: str | None,
    categories: int | None,
    out: str,
    force: bool,
    interactive: bool | None = None,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    """Run `tutti recommend`: 0 written, 1 cannot write, 2 usage error, 130 the user quit."""
    path = Path(out)
    if path.exists() and not force:
        print(
            f"tutti recommend: {path} already exists; pass --force to overwrite it"
            " or --out to write elsewhere",
            file=sys.stderr,
        )
        return 1
    try:
        answers = gather(
            structure=structure,
            simple_share=simple_share,
            latency=latency,
            cost=cost,
            categories=categories,
            interactive=sys.stdin.isatty() if interactive is None else interactive,
            read=read,
            write=write,
        )
    except AnswerError as exc:
        print(f"tutti recommend: error: {exc}", file=sys.stderr)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("\ntutti recommend: stopped; nothing written", file=sys.stderr)
        return 130
    recommendation = recommend(answers)
    try:
        # "x" keeps the refusal to overwrite even if the file appeared while we asked.
        with path.open("w" if force else "x", encoding="utf-8") as file:
            file.write(recommendation.composition)
    except FileExistsError:
        print(
            f"tutti recommend: {path} already exists; pass --force to overwrite it", file=sys.stderr
        )
        return 1
    except OSError as exc:
        print(f"tutti recommend: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    write(f"recommendation: {recommendation.pattern}")
    write(
        textwrap.fill(
            recommendation.reason, width=79, initial_indent="reason: ", subsequent_indent="  "
        )
    )
    write(
        f"wrote {path}; its models are named placeholders, which `tutti check {path}` lists"
        " until each is filled in (or run `tutti recommend --data FILE` to train them)"
    )
    return 0
