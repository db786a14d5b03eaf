"""`tutti recommend` from its flags: the questions without `--data`, the trained starter with it."""

from __future__ import annotations

import sys

from workbench.recommend._answers import Cost, Latency
from workbench.recommend._from_data import from_data
from workbench.recommend._questionnaire import questionnaire

__all__ = ["recommend_command"]


def recommend_command(
    *,
    data: str | None,
    departments: str | None,
    strong: str | None,
    text_column: str | None,
    label_column: str | None,
    seed: int | None,
    structure: str | None,
    simple_share: int | None,
    latency: str | None,
    cost: str | None,
    categories: int | None,
    out: str,
    force: bool,
) -> int:
    """Run `tutti recommend` as its flags ask; 2 for flags that do not go together."""
    if data is None:
        alone = {
            "--departments": departments,
            "--strong": strong,
            "--text-column": text_column,
            "--label-column": label_column,
            "--seed": seed,
        }
        if given := [flag for flag, value in alone.items() if value is not None]:
            return _usage(f"{', '.join(given)} only apply with --data FILE")
        return questionnaire(
            structure=structure,
            simple_share=simple_share,
            latency=latency,
            cost=cost,
            categories=categories,
            out=out,
            force=force,
        )
    decided = {"--structure": structure, "--simple-share": simple_share, "--categories": categories}
    if given := [flag for flag, value in decided.items() if value is not None]:
        return _usage(
            f"{', '.join(given)}: with --data the labelled texts decide the pattern; drop them"
        )
    return from_data(
        data,
        out=out,
        force=force,
        departments=departments,
        strong=strong,
        text_column=text_column or "text",
        label_column=label_column or "label",
        seed=seed or 0,
        # Argparse has checked both against their choices.
        latency=Latency(latency or Latency.SECONDS),
        cost=Cost(cost or Cost.MEDIUM),
    )


def _usage(message: str) -> int:
    print(f"tutti recommend: error: {message}", file=sys.stderr)
    return 2
