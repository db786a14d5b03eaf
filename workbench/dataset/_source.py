"""A labelled file's bytes as text (format by suffix, size and UTF-8 bounds) and its problems."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tutti.config import Problems
from tutti.errors import ConfigError, Problem

__all__ = [
    "FORMATS",
    "MAX_CELL_CHARS",
    "MAX_DATASET_BYTES",
    "MAX_ROW_PROBLEMS",
    "DataFormat",
    "RowProblems",
    "SourceText",
    "read_source",
]

DataFormat = Literal["csv", "tsv", "jsonl"]
FORMATS: dict[str, DataFormat] = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}

# A file past this is refused before it is read: every row becomes a message held in memory,
# so a larger set belongs in several files (or a sample). 512 MB is millions of rows.
MAX_DATASET_BYTES = 512 * 1024 * 1024
# The csv module's own default limit, for CSV and TSV cells: a longer cell is nearly always a
# quote left open, which swallows the rest of the file into one cell.
MAX_CELL_CHARS = 131_072
# A file with a systematic mistake would otherwise list every row; the first ones tell the story.
MAX_ROW_PROBLEMS = 20


@dataclass(frozen=True)
class SourceText:
    """A labelled file's text and its format."""

    source: str
    format: DataFormat
    text: str


def read_source(path: str | Path) -> SourceText:
    """The file's text; an unknown suffix, a file that cannot be read, is too large, is not
    UTF-8 or holds nothing is a ConfigError naming the file (and line, where there is one)."""
    source = str(path)
    suffix = Path(path).suffix.lower()
    found = FORMATS.get(suffix)
    if found is None:
        accepted = ", ".join(FORMATS)
        what = f"suffix '{suffix}'" if suffix else "no suffix"
        raise ConfigError(
            Problem(source, 0, f"has {what}; a labelled file is one of {accepted} (by suffix)")
        )
    limit = MAX_DATASET_BYTES // (1024 * 1024)
    too_large = f"is larger than {limit} MB, the most a labelled file may hold; split or sample it"
    try:
        with Path(path).open("rb") as file:
            # The size first, so a large file costs nothing; the bounded read for a pipe.
            if os.fstat(file.fileno()).st_size > MAX_DATASET_BYTES:
                raise ConfigError(Problem(source, 0, too_large))
            data = file.read(MAX_DATASET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(Problem(source, 0, f"cannot read: {exc.strerror or exc}")) from None
    if len(data) > MAX_DATASET_BYTES:
        raise ConfigError(Problem(source, 0, too_large))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        why = (
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start};"
            " save the file as UTF-8"
        )
        raise ConfigError(Problem(source, line, why)) from None
    # Spreadsheets write a byte-order mark before the header; it is no part of a column's name.
    text = text.removeprefix("\ufeff")
    if not text.strip():
        expected = (
            "one JSON object a line"
            if found == "jsonl"
            else "a header row, then one labelled row a line"
        )
        raise ConfigError(Problem(source, 1, f"is empty; expected {expected}"))
    return SourceText(source, found, text)


class RowProblems:
    """The problems of a file's rows: the first MAX_ROW_PROBLEMS in full, then a count, so that
    one read names every kind of mistake without burying it under a thousand copies."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._problems = Problems(source)
        self._dropped = 0

    def __len__(self) -> int:
        return len(self._problems.found) + self._dropped

    def at(self, line: int, message: str) -> None:
        if len(self._problems.found) < MAX_ROW_PROBLEMS:
            self._problems.at_line(line, message)
        else:
            self._dropped += 1

    def fail(self, line: int, message: str) -> ConfigError:
        """Reading cannot go on past `line`: every problem so far, this one last (always)."""
        self._problems.at_line(line, message)
        return self.error()

    def error(self) -> ConfigError:
        found = list(self._problems.found)
        if self._dropped:
            more = f"and {self._dropped:,} more problems past these {len(found)}"
            found.append(Problem(self.source, 0, more))
        return ConfigError(found)

    def raise_if_any(self) -> None:
        if len(self):
            raise self.error()
