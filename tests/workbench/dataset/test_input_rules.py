"""How a row becomes the input message: a JSON column or key, the whole JSONL object, or a text."""

from __future__ import annotations

import json

import pytest

from tests.workbench.dataset import user_types
from tests.workbench.dataset.conftest import WriteFile
from tutti.errors import ConfigError
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2
from workbench.dataset import read_dataset

TICKET = support_pb2.Ticket.DESCRIPTOR
TRIAGE = support_pb2.Triage.DESCRIPTOR
TEXT = payloads_pb2.Text.DESCRIPTOR

TRIAGE_JSON = {
    "ticket": {"id": "t1", "text": "card lost"},
    "intent": {"label": "lost_card", "confidence": 0.9, "scores": {"lost_card": 0.9}},
    "department": "cards",
}
TRIAGE_MESSAGE = support_pb2.Triage(
    ticket=support_pb2.Ticket(id="t1", text="card lost"),
    intent=payloads_pb2.Classification(
        label="lost_card", confidence=0.9, scores={"lost_card": 0.9}
    ),
    department="cards",
)


def _csv_cell(value: object) -> str:
    return '"' + json.dumps(value).replace('"', '""') + '"'


def test_a_json_column_is_parsed_whole_into_a_nested_input(write: WriteFile) -> None:
    """Nothing but the JSON cell goes into the input: not the id, not the other columns."""
    path = write(
        "triage.csv", f"id,triage,note,label\nrow-1,{_csv_cell(TRIAGE_JSON)},ignored,lost_card\n"
    )
    (item,) = read_dataset(path, TRIAGE, input_column="triage")
    assert item.input == TRIAGE_MESSAGE
    assert (item.id, item.label) == ("row-1", "lost_card")


def test_a_json_column_may_use_camel_case_names_and_enum_names(write: WriteFile) -> None:
    cell = _csv_cell({"body": "hi", "priority": "PRIORITY_HIGH", "urgent": True})
    path = write("r.csv", f"request,label\n{cell},x\n")
    (item,) = read_dataset(path, user_types.descriptor("Request"), input_column="request")
    expected = user_types.new("Request")
    expected.body, expected.priority, expected.urgent = "hi", 2, True  # type: ignore[attr-defined]
    assert item.input == expected


def test_a_jsonl_input_key_holds_an_object_or_a_string_of_json(write: WriteFile) -> None:
    path = write(
        "triage.jsonl",
        json.dumps({"triage": TRIAGE_JSON, "label": "a"})
        + "\n"
        + json.dumps({"triage": json.dumps(TRIAGE_JSON), "label": "b", "extra": 1})
        + "\n",
    )
    data = read_dataset(path, TRIAGE, input_column="triage")
    assert [i.input for i in data] == [TRIAGE_MESSAGE, TRIAGE_MESSAGE]


def test_a_jsonl_object_less_its_label_is_parsed_as_a_nested_input(write: WriteFile) -> None:
    path = write("triage.jsonl", json.dumps({**TRIAGE_JSON, "label": "lost_card"}) + "\n")
    (item,) = read_dataset(path, TRIAGE)
    assert item.input == TRIAGE_MESSAGE
    assert item.id == "line-1"  # the id is the ticket's, inside it, not the line's own


def test_a_jsonl_object_that_does_not_fit_is_read_by_its_text_key(write: WriteFile) -> None:
    """Text has no `id` nor `source`, so the object fails whole; its text key still reads."""
    path = write("t.jsonl", '{"id": "q1", "text": "hi", "source": "web", "label": "greeting"}\n')
    (item,) = read_dataset(path, TEXT)
    assert item.input == payloads_pb2.Text(text="hi")
    assert (item.id, item.label) == ("q1", "greeting")


def test_an_input_field_sends_a_jsonl_text_to_that_field(write: WriteFile) -> None:
    path = write("e.jsonl", '{"text": "a note", "label": "x"}\n')
    (item,) = read_dataset(path, user_types.descriptor("Envelope"), input_field="note")
    expected = user_types.new("Envelope")
    expected.note = "a note"  # type: ignore[attr-defined]
    assert item.input == expected


def test_the_text_fills_the_only_string_field_and_named_columns_fill_scalars(
    write: WriteFile,
) -> None:
    """Request's one string field is `body`; count, urgent, priority and score come from
    columns named like them (a bool written yes, an enum by name); an empty cell leaves its
    field unset and a column named like no field is ignored."""
    path = write(
        "r.csv",
        "text,count,urgent,priority,score,colour,label\n"
        "first,3,yes,PRIORITY_LOW,0.5,red,x\n"
        "second,,0,,,,y\n",
    )
    first, second = read_dataset(path, user_types.descriptor("Request"))
    expected = user_types.new("Request")
    expected.body, expected.count, expected.urgent = "first", 3, True  # type: ignore[attr-defined]
    expected.priority, expected.score = 1, 0.5  # type: ignore[attr-defined]
    assert first.input == expected
    assert second.input == user_types.new("Request").__class__(body="second")


def test_the_text_fills_the_field_named_text_when_there_are_several(write: WriteFile) -> None:
    path = write("t.csv", "id,customer_id,text,label\n7,c1,hello,x\n")
    (item,) = read_dataset(path, TICKET)
    assert item.input == support_pb2.Ticket(id="7", customer_id="c1", text="hello")


def test_the_shallowest_field_named_text_inside_the_type_is_filled(write: WriteFile) -> None:
    """Envelope has `note` and `doc.lang` too; `doc.text` is the one named text."""
    path = write("e.csv", "text,note,label\nbonjour,n1,x\n")
    (item,) = read_dataset(path, user_types.descriptor("Envelope"))
    expected = user_types.new("Envelope")
    expected.doc.text, expected.note = "bonjour", "n1"  # type: ignore[attr-defined]
    assert item.input == expected


def test_a_type_that_holds_itself_has_one_string_field_to_fill(write: WriteFile) -> None:
    path = write("n.csv", "text,label\nroot,x\n")
    (item,) = read_dataset(path, user_types.descriptor("Node"))
    expected = user_types.new("Node")
    expected.name = "root"  # type: ignore[attr-defined]
    assert item.input == expected


def test_an_input_field_is_a_dotted_path(write: WriteFile) -> None:
    path = write("e.csv", "text,label\nhi,x\n")
    (item,) = read_dataset(path, user_types.descriptor("Envelope"), input_field="doc.lang")
    expected = user_types.new("Envelope")
    expected.doc.lang = "hi"  # type: ignore[attr-defined]
    assert item.input == expected


def test_several_string_fields_and_none_named_text_is_an_error_naming_them(
    write: WriteFile,
) -> None:
    path = write("p.csv", "text,label\nhi,x\n")
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, user_types.descriptor("Pair"))
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "tests.dataset.v1.Pair has 2 string fields (title, body)" in message
    assert "--input-field" in message and "'text' column" in message


def test_a_type_without_string_fields_needs_json_inputs(write: WriteFile) -> None:
    path = write("n.csv", "text,label\nhi,x\n")
    with pytest.raises(ConfigError, match="no string field .*--input-column"):
        read_dataset(path, user_types.descriptor("Numbers"))
    json_path = write("n2.csv", 'numbers,label\n"{""count"": 2}",x\n')
    (item,) = read_dataset(json_path, user_types.descriptor("Numbers"), input_column="numbers")
    assert item.input.ListFields()[0][1] == 2


def test_an_input_field_that_does_not_exist_names_the_segment_and_the_fields(
    write: WriteFile,
) -> None:
    path = write("t.csv", "text,label\nhi,x\n")
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, TRIAGE, input_field="ticket.txt")
    assert str(caught.value) == (
        f"{path}: --input-field 'ticket.txt', segment 'txt': tutti.support.v1.Ticket has no"
        " field 'txt' (fields: text, id, customer_id)"
    )


def test_an_input_field_must_end_at_a_string(write: WriteFile) -> None:
    path = write("t.csv", "text,label\nhi,x\n")
    with pytest.raises(ConfigError, match="did you mean 'ticket.id' or 'ticket.text'"):
        read_dataset(path, TRIAGE, input_field="ticket")


def test_an_input_column_and_an_input_field_exclude_each_other(write: WriteFile) -> None:
    path = write("t.csv", "text,label\nhi,x\n")
    with pytest.raises(ConfigError, match="--input-column .* --input-field .* exclude"):
        read_dataset(path, TICKET, input_column="text", input_field="text")


def test_an_input_breaking_a_constraint_of_its_type_names_the_field(write: WriteFile) -> None:
    """Ticket.text holds at most 20,000 characters (buf.validate), as the router would say."""
    path = write("t.csv", f"text,label\nfine,x\n{'a' * 20_001},y\n")
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, TICKET)
    assert str(caught.value).startswith(
        f"{path}:3: the row breaks a constraint of tutti.support.v1.Ticket: input.text:"
    )
    assert "20000" in str(caught.value)


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        ("hi,maybe,1", "'urgent' (column 2) is 'maybe'; urgent is a bool: true or false, 1 or 0"),
        ("hi,true,three", "'count' (column 3) is 'three'; count is an int32"),
        (
            "hi,true,99999999999",
            "'count' (column 3) does not fit tests.dataset.v1.Request.count:",
        ),
    ],
)
def test_a_scalar_cell_that_does_not_fit_its_field_names_its_column(
    write: WriteFile, cells: str, said: str
) -> None:
    path = write("r.csv", f"text,urgent,count,label\n{cells},x\n")
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, user_types.descriptor("Request"))
    assert str(caught.value).startswith(f"{path}:2: {said}")


def test_an_enum_cell_is_a_value_name_or_number(write: WriteFile) -> None:
    path = write("e.csv", "text,priority,label\na,2,x\nb,PRIORITY_LOW,x\nc,HIGH,y\n")
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, user_types.descriptor("Request"))
    assert str(caught.value) == (
        f"{path}:4: 'priority' (column 2) does not fit tests.dataset.v1.Request.priority:"
        " Invalid enum value HIGH for enum type tests.dataset.v1.Priority"
    )
    good = write("g.csv", "text,priority,label\na,2,x\nb,PRIORITY_LOW,x\n")
    assert [
        i.input.ListFields()[-1][1] for i in read_dataset(good, user_types.descriptor("Request"))
    ] == [2, 1]


def test_a_scalar_key_that_does_not_fit_its_field_names_the_key(write: WriteFile) -> None:
    path = write("r.jsonl", '{"text": "hi", "count": "many", "label": "x"}\n')
    with pytest.raises(ConfigError) as caught:
        read_dataset(path, user_types.descriptor("Request"))
    assert "r.jsonl:1: " in str(caught.value)
    assert "read by its 'text' key instead, 'count' is 'many'; count is an int32" in str(
        caught.value
    )
