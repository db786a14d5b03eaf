"""CSV, TSV and JSONL files read into items: inputs, labels, ids and lines as the file has them."""

from __future__ import annotations

import csv
import io
import json
import random

import pytest

from tests.workbench.dataset.conftest import WriteFile
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2
from workbench.dataset import Dataset, read_dataset, unknown_labels

TICKET = support_pb2.Ticket.DESCRIPTOR
TEXT = payloads_pb2.Text.DESCRIPTOR


def test_csv_rows_become_tickets_with_lines_ids_and_sorted_labels(write: WriteFile) -> None:
    path = write(
        "tickets.csv",
        "id,text,label\nt1,where is my card,card_arrival\nt2,I was charged twice,charged_twice\n",
    )
    data = read_dataset(path, TICKET)
    assert isinstance(data, Dataset)
    assert data.source == str(path)
    assert data.input_type == "tutti.support.v1.Ticket"
    assert len(data) == 2
    assert [(i.line, i.id, i.label) for i in data] == [
        (2, "t1", "card_arrival"),
        (3, "t2", "charged_twice"),
    ]
    assert data.items[0].input == support_pb2.Ticket(id="t1", text="where is my card")
    assert data.labels == ("card_arrival", "charged_twice")


def test_tsv_cells_are_tab_separated_and_may_hold_commas(write: WriteFile) -> None:
    path = write("tickets.tsv", "text\tlabel\nhello, world\tgreeting\n")
    (item,) = read_dataset(path, TEXT)
    assert item.input == payloads_pb2.Text(text="hello, world")
    assert (item.label, item.id, item.line) == ("greeting", "line-2", 2)


def test_jsonl_object_less_its_label_is_the_input(write: WriteFile) -> None:
    path = write(
        "tickets.jsonl",
        '{"id": "a", "text": "lost card", "customer_id": "c9", "label": "lost"}\n'
        '{"text": "no id here", "label": "other"}\n',
    )
    first, second = read_dataset(path, TICKET)
    assert first.input == support_pb2.Ticket(id="a", text="lost card", customer_id="c9")
    assert (first.id, first.label, first.line) == ("a", "lost", 1)
    assert (second.id, second.line) == ("line-2", 2)


def test_csv_lines_count_quoted_line_breaks_and_blank_lines(write: WriteFile) -> None:
    path = write(
        "tickets.csv",
        'text,label\r\n"two\nlines",a\r\n\r\nafter a blank,b\r\n"three\n\nlines",c\r\nlast,d\r\n',
    )
    data = read_dataset(path, TEXT)
    texts = ["two\nlines", "after a blank", "three\n\nlines", "last"]
    assert [(i.line, i.input) for i in data] == [
        (line, payloads_pb2.Text(text=text)) for line, text in zip([2, 5, 6, 9], texts, strict=True)
    ]


def test_jsonl_blank_lines_are_skipped_and_counted(write: WriteFile) -> None:
    path = write("t.jsonl", '\n{"text": "a", "label": "x"}\r\n\n  \n{"text": "b", "label": "y"}')
    assert [i.line for i in read_dataset(path, TEXT)] == [2, 5]


def test_a_byte_order_mark_and_blanks_around_header_names_are_not_in_column_names(
    write: WriteFile,
) -> None:
    path = write("excel.csv", "\ufeff id , text ,label\n7,hi,greeting\n")
    (item,) = read_dataset(path, TICKET)
    assert (item.id, item.label) == ("7", "greeting")
    assert item.input == support_pb2.Ticket(id="7", text="hi")


def test_rows_of_empty_cells_are_no_rows(write: WriteFile) -> None:
    path = write("sheet.csv", "text,label\nhi,a\n,\n , \nho,b\n,,\n")
    assert [i.line for i in read_dataset(path, TEXT)] == [2, 5]


def test_labels_are_stripped_and_jsonl_numbers_and_bools_are_written_out(
    write: WriteFile,
) -> None:
    path = write(
        "n.jsonl",
        '{"text": "a", "label": 3, "id": 10}\n'
        '{"text": "b", "label": 2.5}\n'
        '{"text": "c", "label": true}\n'
        '{"text": "d", "label": "  spaced  "}\n',
    )
    data = read_dataset(path, TEXT)
    assert [i.label for i in data] == ["3", "2.5", "true", "spaced"]
    assert data.items[0].id == "10"


def test_the_suffix_is_read_without_regard_to_case(write: WriteFile) -> None:
    path = write("UPPER.CSV", "text,label\nhi,a\n")
    assert read_dataset(path, TEXT).labels == ("a",)


def test_other_label_and_text_columns_can_be_named(write: WriteFile) -> None:
    path = write("own.csv", "body,intent\nhi,greeting\n")
    (item,) = read_dataset(path, TEXT, text_column="body", label_column="intent")
    assert (item.input, item.label) == (payloads_pb2.Text(text="hi"), "greeting")


def test_unknown_labels_are_the_ones_no_model_was_trained_on(write: WriteFile) -> None:
    path = write("t.csv", "text,label\na,x\nb,y\nc,z\nd,y\n")
    data = read_dataset(path, TEXT)
    assert unknown_labels(data, ["y", "w"]) == ["x", "z"]
    assert unknown_labels(data, {"x", "y", "z"}) == []


def _rows(count: int) -> list[tuple[str, str, str]]:
    """(id, text, label) rows with everything a cell can hold: delimiters, quotes, line
    breaks, tabs, non-ASCII, and texts that look like JSON or numbers."""
    rng = random.Random(7)
    pieces = ["card", "a,b", 'say "hi"', "tab\there", "two\nlines", "é ü 中文", '{"x": 1}', "42"]
    return [
        (
            f"r{n}",
            " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))),
            rng.choice(["lost_card", "refund", "other", "card_arrival"]),
        )
        for n in range(count)
    ]


def _delimited(rows: list[tuple[str, str, str]], delimiter: str) -> tuple[str, list[int]]:
    """The file's text, and the line each row starts on (the header is line 1)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "text", "label"])
    lines = []
    for row in rows:
        lines.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    return out.getvalue(), lines


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_a_thousand_written_rows_read_back_as_they_were(write: WriteFile, suffix: str) -> None:
    rows = _rows(1000)
    if suffix == ".jsonl":
        text = "".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in rows)
        lines = list(range(1, len(rows) + 1))
    else:
        text, lines = _delimited(rows, "\t" if suffix == ".tsv" else ",")
    data = read_dataset(write(f"rows{suffix}", text), TICKET)
    assert [(i.id, i.input, i.label) for i in data] == [
        (row_id, support_pb2.Ticket(id=row_id, text=text), label) for row_id, text, label in rows
    ]
    assert [i.line for i in data] == lines
    assert data.labels == ("card_arrival", "lost_card", "other", "refund")
