"""Label paths are checked against the output type before anything runs, and read responses."""

from __future__ import annotations

import pytest
from google.protobuf import empty_pb2

from tests.workbench.dataset import user_types
from tutti.errors import ConfigError
from tutti.messages import MessageTypes
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2
from workbench.dataset import LabelPath, default_label_path, label_path

RESOLUTION = support_pb2.Resolution.DESCRIPTOR
TRIAGE = support_pb2.Triage.DESCRIPTOR
CLASSIFICATION = payloads_pb2.Classification.DESCRIPTOR


def error_of(*args: object, default: bool = False, source: str = "--label-path") -> str:
    """The error of finding a label path (the default one when `default`)."""
    with pytest.raises(ConfigError) as caught:
        if default:
            default_label_path(*args, source=source)  # type: ignore[arg-type]
        else:
            label_path(*args, source=source)  # type: ignore[arg-type]
    return str(caught.value)


def resolution(label: str) -> support_pb2.Resolution:
    return support_pb2.Resolution(
        triage=support_pb2.Triage(intent=payloads_pb2.Classification(label=label)),
        reply="done",
    )


@pytest.mark.parametrize(
    ("output_type", "path", "response"),
    [
        (CLASSIFICATION, "label", payloads_pb2.Classification(label="refund")),
        (
            TRIAGE,
            "intent.label",
            support_pb2.Triage(intent=payloads_pb2.Classification(label="refund")),
        ),
        (RESOLUTION, "triage.intent.label", resolution("refund")),
        (TRIAGE, "department", support_pb2.Triage(department="refund")),
    ],
)
def test_a_path_through_singular_messages_reads_the_label(
    output_type: object, path: str, response: object
) -> None:
    found = label_path(output_type, path)  # type: ignore[arg-type]
    assert isinstance(found, LabelPath)
    assert (found.output_type, found.path) == (output_type.full_name, path)  # type: ignore[attr-defined]
    assert found.read(response) == "refund"  # type: ignore[arg-type]


def test_an_unset_message_on_the_way_reads_as_empty() -> None:
    found = label_path(RESOLUTION, "triage.intent.label")
    assert found.read(support_pb2.Resolution(reply="no triage")) == ""
    assert found.read(support_pb2.Resolution(triage=support_pb2.Triage(department="d"))) == ""


def test_a_type_named_by_a_composition_gives_its_descriptor() -> None:
    """How eval gets a type: by the full name a composition declares."""
    types = MessageTypes()
    found = label_path(types.message_class("tutti.v1.Classification").DESCRIPTOR, "label")
    assert found.read(payloads_pb2.Classification(label="x")) == "x"


def test_enum_int_and_bool_labels_read_as_a_file_would_write_them() -> None:
    verdict = user_types.descriptor("Verdict")
    response = user_types.new("Verdict")
    response.priority, response.spam, response.code = 2, True, -7  # type: ignore[attr-defined]
    assert label_path(verdict, "priority").read(response) == "PRIORITY_HIGH"
    assert label_path(verdict, "spam").read(response) == "true"
    assert label_path(verdict, "code").read(response) == "-7"
    response.priority, response.spam = 9, False  # type: ignore[attr-defined]
    assert label_path(verdict, "priority").read(response) == "9"
    assert label_path(verdict, "spam").read(response) == "false"


def test_reading_another_type_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(TypeError, match="reads tutti.support.v1.Resolution, not tutti.v1.Text"):
        label_path(RESOLUTION, "triage.intent.label").read(payloads_pb2.Text(text="x"))


def test_a_wrong_segment_names_it_its_type_and_the_fields_there_closest_first() -> None:
    assert error_of(RESOLUTION, "triage.intnet.label") == (
        "--label-path: 'triage.intnet.label', segment 'intnet': tutti.support.v1.Triage has no"
        " field 'intnet' (fields: intent, ticket, department)"
    )
    assert error_of(RESOLUTION, "label", source="desk.yaml") == (
        "desk.yaml: 'label': tutti.support.v1.Resolution has no field 'label'"
        " (fields: triage, reply, escalate_to_human, macro)"
    )


def test_a_path_ending_at_a_message_suggests_the_label_inside_it() -> None:
    assert error_of(RESOLUTION, "triage.intent") == (
        "--label-path: 'triage.intent', segment 'intent': tutti.support.v1.Triage.intent is a"
        " message (tutti.v1.Classification), not a label (a string, enum, integer or bool"
        " field, not repeated); did you mean 'triage.intent.label'?"
    )


@pytest.mark.parametrize(
    ("path", "said"),
    [
        (
            "triage.department.x",
            "Triage.department is a string; every field of a path but the last",
        ),
        ("items.label", "Verdict.items is repeated: a message (tests.dataset.v1.Inner)"),
        ("tags", "Verdict.tags is repeated: a string, not a label"),
        ("first.confidence", "Inner.confidence is a double, not a label"),
        ("first..label", "'first..label' is not a dotted path of field names"),
        ("", "'' is not a dotted path of field names"),
    ],
)
def test_a_path_that_does_not_end_at_a_label_says_why(path: str, said: str) -> None:
    output_type = RESOLUTION if path.startswith("triage") else user_types.descriptor("Verdict")
    assert said in error_of(output_type, path)


def test_intent_scores_is_a_map_not_a_label() -> None:
    assert "Classification.scores is a map, not a label" in error_of(TRIAGE, "intent.scores")


@pytest.mark.parametrize(
    ("output_type", "path"),
    [
        (CLASSIFICATION, "label"),
        (TRIAGE, "intent.label"),
        (RESOLUTION, "triage.intent.label"),
        (user_types.descriptor("Inner"), "label"),
    ],
)
def test_the_default_is_the_shallowest_field_named_label(output_type: object, path: str) -> None:
    assert default_label_path(output_type).path == path  # type: ignore[arg-type]


def test_two_labels_as_deep_are_ambiguous_and_listed() -> None:
    """Verdict has first.label and second.label; items.label is repeated, so no candidate."""
    assert error_of(user_types.descriptor("Verdict"), default=True) == (
        "--label-path: tests.dataset.v1.Verdict has 2 label fields as deep: first.label,"
        " second.label; pick one with --label-path"
    )


def test_no_field_named_label_lists_the_fields_that_could_be_one() -> None:
    assert error_of(payloads_pb2.Completion.DESCRIPTOR, default=True) == (
        "--label-path: tutti.v1.Completion has no field 'label', nor does any message inside"
        " it; name the label's field with --label-path (one of: text, finish_reason)"
    )
    numbers = error_of(user_types.descriptor("Numbers"), default=True)
    assert numbers.endswith("(one of: count)")  # an int32 may be a label, a double not
    assert error_of(empty_pb2.Empty.DESCRIPTOR, default=True) == (
        "--label-path: google.protobuf.Empty has no field 'label', nor does any message inside"
        " it, nor any field that could hold a label (a string, enum, integer or bool field,"
        " not repeated)"
    )


def test_a_type_that_holds_itself_is_searched_to_a_bottom() -> None:
    said = error_of(user_types.descriptor("Node"), default=True)
    assert "tests.dataset.v1.Node has no field 'label'" in said
    assert "(one of: name)" in said
