"""read_dataset: a user's labelled CSV, TSV or JSONL file as typed input messages and labels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, Problem
from workbench.dataset._dataset import Dataset
from workbench.dataset._delimited import read_delimited
from workbench.dataset._fields import as_descriptor
from workbench.dataset._input import Columns, InputRules
from workbench.dataset._jsonl import read_jsonl
from workbench.dataset._source import read_source

if TYPE_CHECKING:
    from workbench.dataset._fields import MessageDescriptor

__all__ = ["read_dataset"]


def read_dataset(
    path: str | Path,
    input_type: MessageDescriptor,
    *,
    input_column: str | None = None,
    label_column: str = "label",
    input_field: str | None = None,
    text_column: str = "text",
) -> Dataset:
    """Read a labelled `.csv`, `.tsv` (both with a header row) or `.jsonl` file (one JSON
    object a line) into items whose inputs are messages of `input_type`, a message type's
    descriptor (a composition's: `MessageTypes().message_class(name).DESCRIPTOR`).

    Each row's input comes from the first of these rules that applies:

    1. `input_column` given: that column's cell (CSV/TSV), or that key's value (JSONL: an
       object, or a string holding one), is a JSON object parsed whole into the input type
       by json_format (nested messages, enums by name, unknown fields refused). Nothing
       else of the row goes into the input.
    2. JSONL, neither `input_column` nor `input_field` given: the line's object, less its
       label key, parsed whole the same way. When it does not fit the type (an unknown
       key, a wrong value), rule 3 reads the line instead, through its text key.
    3. The text rule: the `text_column` cell (or key) is put into the text field, which is
       `input_field` (a dotted path such as `ticket.text`) when given, else the input
       type's only string field (those inside its singular message fields count), else
       its shallowest string field named `text` (Ticket's `text`, Triage's `ticket.text`);
       two such as deep, or none, is an error listing the candidates. The other cells whose
       column (or key) is named like a top-level scalar field of the type fill that field
       (`id` fills Ticket.id; a bool cell reads true/false, 1/0 or yes/no; an empty cell
       leaves its field unset); the label never does, and cells named like no field are
       ignored.

    Every input is then checked against its protovalidate constraints, as the router does.
    A label has its surrounding blanks stripped; a JSONL number is written as Python does
    (`3`, `2.5`), a bool as `true`/`false`. An item's id is its `id` cell or key, or
    `line-N` without one (or with an empty one); ids are unique. Blank lines, and CSV/TSV
    rows of empty cells only, are skipped; every line number counts them.

    Every problem is a `tutti.errors.Problem` at the file and line, naming the column
    (and its number) or key; the problems of up to MAX_ROW_PROBLEMS rows are raised
    together as one ConfigError, then counted. A file past MAX_DATASET_BYTES, a cell past
    MAX_CELL_CHARS, an unknown suffix, bytes that are not UTF-8 and a file without rows
    are refused outright.
    """
    source = str(path)
    if input_column is not None and input_field is not None:
        raise ConfigError(
            Problem(
                source,
                0,
                "--input-column (a whole JSON input) and --input-field (where a text goes)"
                " exclude each other; give one",
            )
        )
    text = read_source(path)
    descriptor = as_descriptor(input_type)
    rules = InputRules(descriptor, source=source, input_field=input_field)
    columns = Columns(label=label_column, text=text_column, input=input_column)
    if text.format == "jsonl":
        whole = input_column is None and input_field is None
        items = read_jsonl(text, rules, columns, whole=whole)
    else:
        items = read_delimited(text, rules, columns)
    return Dataset(source, descriptor.full_name, tuple(items))
