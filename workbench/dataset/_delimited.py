"""CSV and TSV files: a header row naming the columns, then one labelled row a record."""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Iterator

from workbench.dataset._dataset import Item, ItemLedger, line_id
from workbench.dataset._input import CellError, Columns, InputRules, RowError
from workbench.dataset._source import MAX_CELL_CHARS, RowProblems, SourceText

__all__ = ["read_delimited"]

_FLAGS = {"label": "--label-column", "text": "--text-column", "input": "--input-column"}


def read_delimited(text: SourceText, rules: InputRules, columns: Columns) -> list[Item]:
    """The items of a CSV (comma) or TSV (tab) file, in the csv module's excel dialect
    (cells may be quoted with "", which may hold the delimiter and line breaks)."""
    problems = RowProblems(text.source)
    records = _records(text, problems)
    first = next(records, None)
    if first is None:
        raise problems.fail(1, "has no header row")
    header_line, header = first
    header = [name.strip() for name in header]
    index = _index(header, header_line, columns, problems)
    if columns.input is None:
        rules.text_field(columns.text)  # a type without one fails here, not on every row
    ledger = ItemLedger()
    rows = 0
    for line, cells in records:
        rows += 1
        try:
            item = _item(line, cells, header, index, rules, columns)
        except RowError as exc:
            problems.at(line, str(exc))
            continue
        refused = ledger.add(item)
        if refused is not None:
            problems.at(line, refused)
    if not rows:
        why = "has a header but no rows; expected one labelled row a line after it"
        raise problems.fail(header_line, why)
    problems.raise_if_any()
    return ledger.items


def _records(text: SourceText, problems: RowProblems) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells) for every record that is not blank."""
    delimiter = "\t" if text.format == "tsv" else ","
    reader = csv.reader(io.StringIO(text.text, newline=""), delimiter=delimiter)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise problems.fail(line, _csv_problem(exc)) from None
        start, line = line, reader.line_num + 1
        if any(len(cell) > MAX_CELL_CHARS for cell in cells):
            raise problems.fail(start, _too_long())
        # A spreadsheet's export ends with rows of empty cells; they are no rows at all.
        if any(cell.strip() for cell in cells):
            yield start, cells


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return _too_long()
    return f"cannot be read as delimited text: {exc}"


def _too_long() -> str:
    return (
        f"has a cell longer than {MAX_CELL_CHARS:,} characters, the most a cell may hold;"
        ' a quote (") left open makes one cell of the lines after it'
    )


def _index(header: list[str], line: int, columns: Columns, problems: RowProblems) -> dict[str, int]:
    """The position of every named column; a repeated or missing one stops the read."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name and name in index:
            raise problems.fail(
                line,
                f"has the column '{name}' twice (columns {index[name] + 1} and {position + 1})",
            )
        index.setdefault(name, position)
    needed = {"label": columns.label}
    needed["input" if columns.input is not None else "text"] = columns.input or columns.text
    missing = [(role, name) for role, name in needed.items() if name not in index]
    if missing:
        found = ", ".join(f"'{n}'" for n in header if n) or "none"
        for role, name in missing:
            close = difflib.get_close_matches(name, header, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.at(
                line,
                f"has no {role} column '{name}' (found: {found}); {hint}"
                f"name the {role} column with {_FLAGS[role]}",
            )
        raise problems.error()
    return index


def _item(
    line: int,
    cells: list[str],
    header: list[str],
    index: dict[str, int],
    rules: InputRules,
    columns: Columns,
) -> Item:
    if len(cells) != len(header):
        raise RowError(
            f"has {len(cells)} cells; the header has {len(header)} columns"
            + (" (a quote left open?)" if len(cells) < len(header) else "")
        )

    def cell(name: str) -> tuple[str, str]:
        return f"'{name}' (column {index[name] + 1})", cells[index[name]]

    where, label = cell(columns.label)
    label = label.strip()
    if not label:
        raise RowError(f"{where} is empty; every row needs a label")
    row_id = cells[index[columns.id]].strip() if columns.id in index else ""
    if columns.input is not None:
        where, raw = cell(columns.input)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RowError(
                f"{where} is not valid JSON: {exc.msg} at character {exc.pos + 1}"
            ) from None
        try:
            message = rules.from_object(value)
        except RowError as exc:
            raise RowError(f"{where} {exc}") from None
    else:
        where, text = cell(columns.text)
        if not text.strip():
            raise RowError(f"{where} is empty; every row needs a text")
        skip = {index[columns.text], index[columns.label]}
        others = {name: cells[i] for i, name in enumerate(header) if i not in skip and name}
        try:
            message = rules.from_text(text, columns.text, others)
        except CellError as exc:
            raise RowError(f"{cell(exc.column)[0]} {exc.detail}") from None
        except RowError as exc:
            raise RowError(f"the row {exc}") from None
    return Item(line, row_id or line_id(line), message, label)
