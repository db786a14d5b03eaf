"""A labelled file that cannot be read says where: file, line and column (or key), every row's
problem at once up to a bound, and never a traceback from csv or json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workbench.dataset.conftest import WriteFile
from tutti.errors import ConfigError
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2
from workbench.dataset import (
    MAX_CELL_CHARS,
    MAX_DATASET_BYTES,
    MAX_ROW_PROBLEMS,
    read_dataset,
)

TICKET = support_pb2.Ticket.DESCRIPTOR
TRIAGE = support_pb2.Triage.DESCRIPTOR
TEXT = payloads_pb2.Text.DESCRIPTOR


def problems(path: Path, *, input_type: object = TEXT, **options: str) -> list[str]:
    """Every problem reading `path` raises, each as printed."""
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, input_type, **options)  # type: ignore[arg-type]
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    assert problems(path) == [f"{path}: cannot read: No such file or directory"]


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    path = tmp_path / "folder.csv"
    path.mkdir()
    assert problems(path) == [f"{path}: cannot read: Is a directory"]


@pytest.mark.parametrize("name", ["data.json", "data.txt", "data"])
def test_an_unknown_suffix_names_it_and_the_three_accepted(write: WriteFile, name: str) -> None:
    path = write(name, '{"text": "a", "label": "b"}\n')
    (said,) = problems(path)
    suffix = f"suffix '{path.suffix}'" if path.suffix else "no suffix"
    assert said == f"{path}: has {suffix}; a labelled file is one of .csv, .tsv, .jsonl (by suffix)"


def test_bytes_that_are_not_utf8_give_their_offset_and_line(write: WriteFile) -> None:
    path = write("latin.csv", b"text,label\nok,a\ncaf" + b"\xe9,b\n")
    assert problems(path) == [
        f"{path}:3: is not UTF-8 text: byte 0xe9 at offset 19; save the file as UTF-8"
    ]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_file_says_what_it_should_hold(write: WriteFile, content: str) -> None:
    assert problems(write("e.csv", content)) == [
        f"{write('e.csv', content)}:1: is empty; expected a header row, then one labelled row a line"
    ]
    assert problems(write("e.jsonl", content)) == [
        f"{write('e.jsonl', content)}:1: is empty; expected one JSON object a line"
    ]


def test_a_header_without_rows_is_refused_at_the_header_line(write: WriteFile) -> None:
    path = write("h.tsv", "text\tlabel\n\n")
    assert problems(path) == [
        f"{path}:1: has a header but no rows; expected one labelled row a line after it"
    ]
    late = write("late.csv", "\n\ntext,labl\n")
    assert problems(late)[0].startswith(f"{late}:3: has no label column 'label'")


def test_missing_columns_list_the_columns_found(write: WriteFile) -> None:
    path = write("m.csv", "body,lable\nhi,a\n")
    assert problems(path) == [
        f"{path}:1: has no label column 'label' (found: 'body', 'lable'); did you mean 'lable'?"
        " name the label column with --label-column",
        f"{path}:1: has no text column 'text' (found: 'body', 'lable');"
        " name the text column with --text-column",
    ]
    (said,) = problems(path, input_column="ticket", label_column="lable")
    assert said.endswith(
        "has no input column 'ticket' (found: 'body', 'lable'); name the"
        " input column with --input-column"
    )


def test_a_column_named_twice_is_refused(write: WriteFile) -> None:
    path = write("d.csv", "text,label,text\na,b,c\n")
    assert problems(path) == [f"{path}:1: has the column 'text' twice (columns 1 and 3)"]


def test_an_empty_label_cell_names_line_and_column(write: WriteFile) -> None:
    path = write("l.csv", "id,text,label\n1,hi,a\n2,ho,  \n")
    assert problems(path) == [f"{path}:3: 'label' (column 3) is empty; every row needs a label"]


def test_an_empty_text_cell_names_line_and_column(write: WriteFile) -> None:
    path = write("t.csv", "label,text\na,\n")
    assert problems(path) == [f"{path}:2: 'text' (column 2) is empty; every row needs a text"]


def test_a_json_cell_that_is_not_json_names_line_column_and_character(write: WriteFile) -> None:
    path = write("j.csv", 'label,ticket\na,"{""text"" ""x""}"\nb,[1]\n')
    assert problems(path, input_type=TICKET, input_column="ticket") == [
        f"{path}:2: 'ticket' (column 2) is not valid JSON: Expecting ':' delimiter at character 9",
        f"{path}:3: 'ticket' (column 2) holds an array; expected a JSON object of"
        " tutti.support.v1.Ticket",
    ]


def test_a_json_cell_that_does_not_fit_the_type_names_the_field(write: WriteFile) -> None:
    unknown = json.dumps({"txt": "hi"}).replace('"', '""')
    nested = json.dumps({"intent": {"confidence": "high"}}).replace('"', '""')
    path = write("j.csv", f'label,input\na,"{unknown}"\nb,"{nested}"\n')
    assert problems(path, input_type=TRIAGE, input_column="input") == [
        f"{path}:2: 'input' (column 2) does not fit tutti.support.v1.Triage: tutti.support.v1.Triage"
        " has no field 'txt' (fields: ticket, intent, department)",
        f"{path}:3: 'input' (column 2) does not fit tutti.support.v1.Triage: field"
        " 'intent.confidence': Couldn't parse float: high",
    ]


def test_a_row_with_the_wrong_number_of_cells_says_how_many(write: WriteFile) -> None:
    path = write("n.csv", "text,label\na,b,c\nd\n")
    assert problems(path) == [
        f"{path}:2: has 3 cells; the header has 2 columns",
        f"{path}:3: has 1 cells; the header has 2 columns (a quote left open?)",
    ]


def test_jsonl_lines_that_are_not_objects_are_named(write: WriteFile) -> None:
    path = write("o.jsonl", '{"text": "a", "label": "b"}\n[1, 2]\n"text"\n{"text": "a",\n')
    assert problems(path) == [
        f"{path}:2: holds an array; each line is one JSON object",
        f"{path}:3: holds a string; each line is one JSON object",
        f"{path}:4: is not valid JSON at column 14: Expecting property name enclosed in double quotes",
    ]


def test_jsonl_label_problems_name_the_key(write: WriteFile) -> None:
    path = write(
        "k.jsonl",
        '{"text": "a"}\n{"text": "a", "label": ""}\n{"text": "a", "label": null}\n',
    )
    assert problems(path) == [
        f"{path}:1: has no 'label' key (keys: 'text'); name the label's key with --label-column",
        f"{path}:2: 'label' is empty; every line needs a label",
        f"{path}:3: 'label' holds null; a label is a string or a number",
    ]


def test_a_jsonl_object_that_fits_neither_way_says_both(write: WriteFile) -> None:
    path = write("b.jsonl", '{"txt": "a", "label": "x"}\n{"text": 5, "label": "x"}\n')
    assert problems(path, input_type=TICKET) == [
        f"{path}:1: the line less its 'label' does not fit tutti.support.v1.Ticket:"
        " tutti.support.v1.Ticket has no field 'txt' (fields: text, id, customer_id)",
        f"{path}:2: the line less its 'label' does not fit tutti.support.v1.Ticket: field 'text':"
        " expected string or bytes-like object, got 'int'",
    ]


def test_a_jsonl_input_key_that_is_missing_is_named(write: WriteFile) -> None:
    path = write("i.jsonl", '{"text": "a", "label": "x"}\n')
    assert problems(path, input_type=TICKET, input_column="ticket") == [
        f"{path}:1: has no 'ticket' key (keys: 'text', 'label'); name the input's key with"
        " --input-column"
    ]


def test_a_repeated_id_names_the_line_that_has_it(write: WriteFile) -> None:
    path = write("ids.csv", "id,text,label\n7,a,x\n8,b,x\n7,c,y\n")
    assert problems(path) == [f"{path}:4: id '7' is also the id of line 2; ids must be unique"]


def test_every_row_problem_comes_at_once_up_to_a_bound(write: WriteFile) -> None:
    rows = "".join(f"text {n},\n" for n in range(MAX_ROW_PROBLEMS + 15))
    path = write("many.csv", "text,label\n" + rows)
    said = problems(path)
    assert len(said) == MAX_ROW_PROBLEMS + 1
    assert said[0] == f"{path}:2: 'label' (column 2) is empty; every row needs a label"
    assert said[MAX_ROW_PROBLEMS - 1].startswith(f"{path}:{MAX_ROW_PROBLEMS + 1}: ")
    assert said[-1] == f"{path}: and 15 more problems past these {MAX_ROW_PROBLEMS}"


def test_different_problems_of_one_file_come_together(write: WriteFile) -> None:
    path = write("mixed.jsonl", '{"label": "x"}\nnot json\n{"text": "ok", "label": "y"}\n[]\n')
    said = problems(path)
    assert [p.split(": ", 1)[0] for p in said] == [f"{path}:1", f"{path}:2", f"{path}:4"]
    assert said[0] == f"{path}:1: has nothing but its 'label'; where is the input?"


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(MAX_DATASET_BYTES + 1)  # sparse: nothing is written
    assert problems(path) == [
        f"{path}: is larger than 512 MB, the most a labelled file may hold; split or sample it"
    ]


def test_a_cell_over_the_bound_names_its_line(write: WriteFile) -> None:
    path = write("long.csv", f"text,label\nfine,a\n{'x' * (MAX_CELL_CHARS + 1)},b\n")
    assert problems(path) == [
        f"{path}:3: has a cell longer than 131,072 characters, the most a cell may hold;"
        ' a quote (") left open makes one cell of the lines after it'
    ]


def test_a_quote_left_open_is_caught_by_the_cell_bound(write: WriteFile) -> None:
    """csv's own error (field larger than field limit) is said as the bound, at its row."""
    rows = "".join(f"row {n},a\n" for n in range(MAX_CELL_CHARS // 8))
    path = write("open.csv", f'text,label\nok,a\n"left open,b\n{rows}')
    (said,) = problems(path)
    assert said.startswith(f"{path}:3: has a cell longer than 131,072 characters")
