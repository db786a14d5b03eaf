"""A cascade's `field`: the confidence it reads must be one message's field, never a list's."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from router_service import compile_composition, read_composition
from tutti.errors import CompositionError
from tutti.messages import MessageTypes

CLASSIFICATION = "tutti.v1.Classification"


def _ballot_types() -> MessageTypes:
    """acme.v1.Ballot: votes (repeated Classification) and by_model (map to Classification)."""
    types = MessageTypes()
    files = types.descriptor_set([CLASSIFICATION])
    ballot_file = files.file.add(name="acme/v1/ballot.proto", package="acme.v1", syntax="proto3")
    ballot_file.dependency.append("tutti/v1/payloads.proto")
    ballot = ballot_file.message_type.add(name="Ballot")
    field = descriptor_pb2.FieldDescriptorProto
    message, repeated, optional = field.TYPE_MESSAGE, field.LABEL_REPEATED, field.LABEL_OPTIONAL
    classification = f".{CLASSIFICATION}"
    ballot.field.add(name="votes", number=1, type=message, type_name=classification, label=repeated)
    entry = ballot.nested_type.add(name="ByModelEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=optional)
    entry.field.add(name="value", number=2, type=message, type_name=classification, label=optional)
    ballot.field.add(
        name="by_model",
        number=2,
        type=message,
        type_name=".acme.v1.Ballot.ByModelEntry",
        label=repeated,
    )
    types.learn(files)
    return types


@pytest.mark.parametrize(("field", "kind"), [("votes", "repeated"), ("by_model.value", "map")])
def test_confidence_field_through_a_repeated_or_map_field_is_rejected(
    tmp_path: Path, field: str, kind: str
) -> None:
    """At run time there is no single message to read the confidence of."""
    path = tmp_path / "ballot.yaml"
    path.write_text(
        "composition: ballot\ninput: tutti.v1.Text\noutput: acme.v1.Ballot\nstages:\n"
        '  x: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: acme.v1.Ballot}\n'
        '  y: {endpoint: "127.0.0.1:2", input: tutti.v1.Text, output: acme.v1.Ballot}\n'
        f"flow:\n  cascade:\n    steps: [x, y]\n    below: 0.5\n    field: {field}\n"
    )
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path), types=_ballot_types())
    (problem,) = caught.value.problems
    first = field.split(".")[0]
    assert problem.line == 11
    assert f"cascade 'field': '{first}' of acme.v1.Ballot is a {kind} field" in problem.message


def test_confidence_field_of_a_singular_message_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ticket.yaml"
    path.write_text(
        "composition: t\ninput: tutti.v1.Text\noutput: tutti.support.v1.Triage\n"
        "imports: [tutti.support.v1.support_pb2]\nstages:\n"
        '  x: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.support.v1.Triage}\n'
        '  y: {endpoint: "127.0.0.1:2", input: tutti.v1.Text, output: tutti.support.v1.Triage}\n'
        "flow:\n  cascade: {steps: [x, y], below: 0.5, field: intent}\n"
    )
    composition = compile_composition(read_composition(path))
    assert composition.flow.output_type == "tutti.support.v1.Triage"
