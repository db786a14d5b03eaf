"""JSONL files: one JSON object a line, its label under a key, its input the rest of it."""

from __future__ import annotations

import json

from google.protobuf.message import Message

from workbench.dataset._dataset import Item, ItemLedger, line_id
from workbench.dataset._input import (
    CellError,
    Columns,
    ConstraintError,
    InputRules,
    RowError,
)
from workbench.dataset._json_errors import json_kind
from workbench.dataset._source import RowProblems, SourceText

__all__ = ["read_jsonl"]

_MAX_KEYS_LISTED = 10


def read_jsonl(text: SourceText, rules: InputRules, columns: Columns, *, whole: bool) -> list[Item]:
    """The items of a JSONL file; blank lines are skipped (and counted in line numbers).

    `whole` is whether a line's object is first read whole as the input (no input key and
    no input field given); see read_dataset for the order of the rules.
    """
    problems = RowProblems(text.source)
    ledger = ItemLedger()
    # Only "\n" ends a line: JSON strings may hold U+2028 and the like, which splitlines splits.
    for number, raw in enumerate(text.text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = _item(number, raw, rules, columns, whole)
        except RowError as exc:
            problems.at(number, str(exc))
            continue
        refused = ledger.add(item)
        if refused is not None:
            problems.at(number, refused)
    problems.raise_if_any()
    return ledger.items


def _item(line: int, raw: str, rules: InputRules, columns: Columns, whole: bool) -> Item:
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RowError(f"is not valid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(row, dict):
        raise RowError(f"holds {json_kind(row)}; each line is one JSON object")
    label = _label(row, columns.label)
    row_id = _id(row.get(columns.id))
    if columns.input is not None:
        message = _from_input_key(row, columns.input, rules)
    elif whole:
        message = _from_whole(row, rules, columns)
    else:
        message = _from_text(row, rules, columns)
    return Item(line, row_id or line_id(line), message, label)


def _label(row: dict[str, object], key: str) -> str:
    if key not in row:
        raise RowError(
            f"has no '{key}' key ({_keys(row)}); name the label's key with --label-column"
        )
    value = row[key]
    match value:
        case bool():
            label = "true" if value else "false"
        case int() | float():
            label = str(value)
        case str():
            label = value.strip()
        case _:
            raise RowError(f"'{key}' holds {json_kind(value)}; a label is a string or a number")
    if not label:
        raise RowError(f"'{key}' is empty; every line needs a label")
    return label


def _id(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _from_input_key(row: dict[str, object], key: str, rules: InputRules) -> Message:
    if key not in row:
        raise RowError(
            f"has no '{key}' key ({_keys(row)}); name the input's key with --input-column"
        )
    value = row[key]
    if isinstance(value, str):
        # A JSONL written from a CSV may keep each input as the JSON text it was there.
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(f"'{key}' is a string that is not JSON: {exc.msg}") from None
    try:
        return rules.from_object(value)
    except RowError as exc:
        raise RowError(f"'{key}' {exc}") from None


def _from_whole(row: dict[str, object], rules: InputRules, columns: Columns) -> Message:
    rest = {k: v for k, v in row.items() if k != columns.label}
    if not rest:
        # It would parse, as a message with every field unset, which no one means to send.
        raise RowError(f"has nothing but its '{columns.label}'; where is the input?")
    try:
        return rules.from_object(rest)
    except ConstraintError as exc:
        raise RowError(f"the object {exc}") from None
    except RowError as whole:
        text = row.get(columns.text)
        if not isinstance(text, str) or not rules.has_text_field:
            raise RowError(f"the line less its '{columns.label}' {whole}") from None
        try:
            return _from_text(row, rules, columns)
        except RowError as by_text:
            raise RowError(
                f"the line less its '{columns.label}' {whole}; read by its '{columns.text}'"
                f" key instead, {by_text}"
            ) from None


def _from_text(row: dict[str, object], rules: InputRules, columns: Columns) -> Message:
    text = row.get(columns.text)
    if columns.text not in row:
        raise RowError(f"has no '{columns.text}' key ({_keys(row)}); name it with --text-column")
    if not isinstance(text, str):
        raise RowError(f"'{columns.text}' holds {json_kind(text)}; the text is a string")
    if not text.strip():
        raise RowError(f"'{columns.text}' is empty; every line needs a text")
    others = {k: v for k, v in row.items() if k not in (columns.text, columns.label)}
    try:
        return rules.from_text(text, columns.text, others)
    except CellError as exc:
        raise RowError(str(exc)) from None
    except RowError as exc:
        raise RowError(f"the line {exc}") from None


def _keys(row: dict[str, object]) -> str:
    names = list(row)
    if not names:
        return "it has none"
    more = f", and {len(names) - _MAX_KEYS_LISTED} more" if len(names) > _MAX_KEYS_LISTED else ""
    return "keys: " + ", ".join(f"'{n}'" for n in names[:_MAX_KEYS_LISTED]) + more
