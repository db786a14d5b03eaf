"""The YAML text of one starter stage, and the placeholder prices and endpoints it is written with."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass

__all__ = [
    "CHEAP_USD",
    "FIRST_PORT",
    "SPECIALIST_USD",
    "STRONG_USD",
    "TEXT",
    "PRICES_NOTE",
    "StageText",
    "scalar",
    "stages_yaml",
]

TEXT = "tutti.v1.Text"
# Where the starter's stages listen when their owner runs them by hand; `tutti up` picks its own.
FIRST_PORT = 50071
# Placeholder prices per call. They only keep a strong model dearer than a cheap one (by
# the usual gap between a small and a large hosted model): the user is told to edit them.
CHEAP_USD = 0.0001
SPECIALIST_USD = 0.001
STRONG_USD = 0.003
PRICES_NOTE = (
    "# Prices are placeholders: set each stage's `price:` to what one call costs you. The\n"
    "# cost budget, the cost in every answer's `execution` and `tutti tune --max-cost-share`\n"
    "# are all computed from them.\n"
)

# A plain YAML scalar that reads back as this same string (not a number, bool or null).
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def scalar(text: str) -> str:
    """`text` as a YAML scalar: bare when that reads back as the same string, else quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


@dataclass(frozen=True)
class StageText:
    """One stage as the starter writes it, a comment line above it saying what it is for."""

    name: str
    output: str
    role: str
    price_usd: float
    serve: str  # the flow mapping after `serve: `, e.g. {backend: sklearn, model: ...}
    serve_note: str = ""  # a comment after the serve block
    input: str = TEXT


def stages_yaml(stages: list[StageText]) -> str:
    """The stages, under `stages:`, on consecutive loopback ports."""
    return "".join(_stage(stage, FIRST_PORT + index) for index, stage in enumerate(stages))


def _stage(stage: StageText, port: int) -> str:
    note = f"  # {stage.serve_note}" if stage.serve_note else ""
    role = "".join(
        textwrap.fill(line, width=79, initial_indent="  # ", subsequent_indent="  # ") + "\n"
        for line in stage.role.splitlines()
    )
    return (
        f"{role}"
        f"  {scalar(stage.name)}:\n"
        f'    endpoint: "127.0.0.1:{port}"\n'
        f"    input: {stage.input}\n"
        f"    output: {stage.output}\n"
        f"    price: {{per_call_usd: {stage.price_usd:g}}}  # placeholder: edit it\n"
        f"    serve: {stage.serve}{note}\n"
    )
