"""Labelled texts a bag of words learns, written as the TSV/CSV files `tutti train` reads."""

from __future__ import annotations

import random
from pathlib import Path

# Six categories a bag of words tells apart: each text holds two of its category's keywords.
KEYWORDS = {
    "billing": ("invoice", "bill", "charge", "refund"),
    "shipping": ("parcel", "delivery", "courier", "tracking"),
    "account": ("password", "login", "username", "locked"),
    "cards": ("card", "pin", "atm", "contactless"),
    "loans": ("loan", "mortgage", "interest", "repayment"),
    "app": ("app", "crash", "update", "screen"),
}
OPENINGS = (
    "please help with my",
    "I have a question about the",
    "there is a problem with my",
    "why is my",
    "can you check the",
)


def labelled_rows(per_label: int = 12, seed: int = 0) -> list[tuple[str, str]]:
    draw = random.Random(seed)
    return [
        (f"{draw.choice(OPENINGS)} {draw.choice(words)} {draw.choice(words)}", label)
        for label, words in KEYWORDS.items()
        for _ in range(per_label)
    ]


def write_labelled(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    path.write_text("\n".join([header, *(f'"{text}",{label}' for text, label in rows)]) + "\n")
    return path
