"""The merge strategies as plain Python: no server, decoded messages in, a merged message out."""

from __future__ import annotations

import pytest
from google.protobuf import message

from merger_service import Strategy, merge
from tutti.errors import RequestError
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2


def _cls(
    label: str, confidence: float, scores: dict[str, float] | None = None
) -> payloads_pb2.Classification:
    return payloads_pb2.Classification(label=label, confidence=confidence, scores=scores or {})


def _triage(ticket_id: str, label: str, confidence: float, department: str) -> support_pb2.Triage:
    return support_pb2.Triage(
        ticket=support_pb2.Ticket(id=ticket_id, text="my invoice is wrong"),
        intent=_cls(label, confidence),
        department=department,
    )


def _merged_classification(output: message.Message) -> payloads_pb2.Classification:
    assert isinstance(output, payloads_pb2.Classification)
    return output


# Majority vote


def test_majority_vote_picks_the_most_common_label_and_names_who_agreed() -> None:
    merged = merge(
        [("a", _cls("billing", 0.6)), ("b", _cls("outage", 0.99)), ("c", _cls("billing", 0.8))],
        Strategy.MAJORITY_VOTE,
    )
    out = _merged_classification(merged.output)
    assert out.label == "billing"
    assert out.confidence == pytest.approx(0.7)  # mean confidence of the agreeing candidates
    assert merged.winners == ("a", "c")


def test_majority_vote_tie_goes_to_the_label_with_higher_mean_confidence() -> None:
    merged = merge(
        [
            ("a", _cls("billing", 0.5)),
            ("b", _cls("outage", 0.9)),
            ("c", _cls("billing", 0.5)),
            ("d", _cls("outage", 0.7)),
        ],
        Strategy.MAJORITY_VOTE,
    )
    assert _merged_classification(merged.output).label == "outage"
    assert merged.winners == ("b", "d")


def test_majority_vote_full_tie_goes_to_the_earliest_candidate() -> None:
    merged = merge(
        [("a", _cls("refund", 0.8)), ("b", _cls("billing", 0.8))], Strategy.MAJORITY_VOTE
    )
    assert _merged_classification(merged.output).label == "refund"
    assert merged.winners == ("a",)


def test_vote_drops_scores_because_no_single_candidate_speaks_for_the_vote() -> None:
    merged = merge(
        [("a", _cls("billing", 0.6, {"billing": 0.6, "outage": 0.4})), ("b", _cls("billing", 0.8))],
        Strategy.MAJORITY_VOTE,
    )
    assert dict(_merged_classification(merged.output).scores) == {}


# Confidence-weighted vote


def test_weighted_vote_sums_confidence_so_one_sure_candidate_can_outvote_two_unsure() -> None:
    candidates = [
        ("a", _cls("billing", 0.4)),
        ("b", _cls("billing", 0.4)),
        ("c", _cls("outage", 0.9)),
    ]
    merged = merge(candidates, Strategy.CONFIDENCE_WEIGHTED_VOTE)
    assert _merged_classification(merged.output).label == "outage"
    assert merged.winners == ("c",)


def test_weighted_vote_applies_per_candidate_weights_defaulting_to_one() -> None:
    candidates = [
        ("a", _cls("billing", 0.6)),
        ("b", _cls("billing", 0.6)),
        ("c", _cls("outage", 0.9)),
    ]
    assert merge(candidates, Strategy.CONFIDENCE_WEIGHTED_VOTE).winners == ("a", "b")
    merged = merge(candidates, Strategy.CONFIDENCE_WEIGHTED_VOTE, weights={"c": 2.0})
    out = _merged_classification(merged.output)
    assert (out.label, merged.winners) == ("outage", ("c",))
    assert out.confidence == pytest.approx(0.9)  # weighted mean confidence of the winners


def test_weighted_vote_tie_goes_to_the_earliest_candidate() -> None:
    merged = merge(
        [("a", _cls("refund", 0.5)), ("b", _cls("billing", 1.0))],
        Strategy.CONFIDENCE_WEIGHTED_VOTE,
        weights={"a": 2.0},
    )
    assert _merged_classification(merged.output).label == "refund"


# Probability averaging


def test_probability_average_averages_scores_counting_missing_labels_as_zero() -> None:
    merged = merge(
        [
            ("a", _cls("billing", 0.6, {"billing": 0.6, "outage": 0.4})),
            ("b", _cls("outage", 0.5)),  # no scores: counts as {"outage": 0.5}
            ("c", _cls("billing", 0.5, {"billing": 0.5, "refund": 0.5})),
        ],
        Strategy.PROBABILITY_AVERAGE,
    )
    out = _merged_classification(merged.output)
    assert out.label == "billing"
    assert out.confidence == pytest.approx(1.1 / 3)
    assert dict(out.scores) == pytest.approx({"billing": 1.1 / 3, "outage": 0.3, "refund": 0.5 / 3})
    assert merged.winners == ("a", "c")


def test_probability_average_with_weights_is_a_weighted_average() -> None:
    candidates = [
        ("a", _cls("billing", 0.7, {"billing": 0.7, "outage": 0.3})),
        ("b", _cls("outage", 0.8, {"billing": 0.2, "outage": 0.8})),
    ]
    assert merge(candidates, Strategy.PROBABILITY_AVERAGE).winners == ("b",)
    merged = merge(candidates, Strategy.PROBABILITY_AVERAGE, weights={"a": 3.0})
    out = _merged_classification(merged.output)
    assert out.label == "billing"
    assert dict(out.scores) == pytest.approx({"billing": 2.3 / 4, "outage": 1.7 / 4})
    assert merged.winners == ("a",)


def test_probability_average_may_pick_a_label_no_candidate_chose_and_then_has_no_winners() -> None:
    merged = merge(
        [
            ("a", _cls("billing", 0.4, {"billing": 0.4, "refund": 0.35, "outage": 0.25})),
            ("b", _cls("outage", 0.4, {"outage": 0.4, "refund": 0.35, "billing": 0.25})),
            ("c", _cls("other", 0.4, {"other": 0.4, "refund": 0.38, "billing": 0.22})),
        ],
        Strategy.PROBABILITY_AVERAGE,
    )
    out = _merged_classification(merged.output)
    assert out.label == "refund"
    assert out.confidence == pytest.approx(1.08 / 3)
    assert merged.winners == ()


# Highest confidence


def test_highest_confidence_keeps_the_surest_candidate_as_it_is() -> None:
    sure = _cls("outage", 0.95, {"outage": 0.95, "billing": 0.05})
    merged = merge(
        [("a", _cls("billing", 0.7)), ("b", sure), ("c", _cls("outage", 0.6))],
        Strategy.HIGHEST_CONFIDENCE,
    )
    assert merged.output == sure
    assert merged.winners == ("b", "c")


def test_highest_confidence_tie_goes_to_the_earliest_candidate() -> None:
    merged = merge(
        [("a", _cls("billing", 0.9)), ("b", _cls("outage", 0.9))], Strategy.HIGHEST_CONFIDENCE
    )
    assert merged.winners == ("a",)


# First valid


def test_first_valid_skips_a_candidate_that_breaks_its_constraints() -> None:
    merged = merge(
        [("a", _cls("billing", 1.5)), ("b", _cls("billing", 0.7)), ("c", _cls("outage", 0.9))],
        Strategy.FIRST_VALID,
    )
    assert merged.output == _cls("billing", 0.7)
    # The invalid candidate agrees on the label but was rejected, so it is no winner.
    assert merged.winners == ("b",)


def test_first_valid_with_no_valid_candidate_says_why_each_failed() -> None:
    with pytest.raises(RequestError) as raised:
        merge([("a", _cls("billing", 1.5)), ("b", _cls("", 0.5))], Strategy.FIRST_VALID)
    assert raised.value.field == "candidates"
    message = str(raised.value)
    assert "candidates[0].output.confidence" in message
    assert "candidates[1].output.label" in message


def test_first_valid_checks_the_whole_message_not_only_the_classification() -> None:
    no_department = _triage("t1", "billing", 0.9, department="")
    good = _triage("t1", "billing", 0.6, department="finance")
    merged = merge([("a", no_department), ("b", good)], Strategy.FIRST_VALID, field="intent")
    assert merged.output == good


# Field paths


def test_nested_field_merges_the_intent_and_keeps_the_rest_of_the_triage() -> None:
    candidates = [
        ("a", _triage("t1", "billing", 0.6, "finance")),
        ("b", _triage("t1", "outage", 0.9, "sre")),
        ("c", _triage("t1", "billing", 0.8, "accounts")),
    ]
    merged = merge(candidates, Strategy.MAJORITY_VOTE, field="intent")
    assert isinstance(merged.output, support_pb2.Triage)
    assert merged.output.intent.label == "billing"
    assert merged.output.intent.confidence == pytest.approx(0.7)
    # The rest comes from the most confident agreeing candidate.
    assert merged.output.department == "accounts"
    assert merged.output.ticket.id == "t1"
    assert merged.winners == ("a", "c")


def test_dotted_field_reaches_a_classification_two_levels_down() -> None:
    def resolution(label: str, confidence: float, reply: str) -> support_pb2.Resolution:
        return support_pb2.Resolution(
            triage=_triage("t7", label, confidence, "support"), reply=reply
        )

    merged = merge(
        [("a", resolution("refund", 0.4, "sorry")), ("b", resolution("refund", 0.8, "refunded"))],
        Strategy.MAJORITY_VOTE,
        field="triage.intent",
    )
    assert isinstance(merged.output, support_pb2.Resolution)
    assert merged.output.reply == "refunded"
    assert merged.output.triage.intent.confidence == pytest.approx(0.6)


def test_merge_leaves_the_candidates_untouched() -> None:
    original = _triage("t1", "billing", 0.6, "finance")
    merge(
        [("a", original), ("b", _triage("t1", "billing", 0.8, "x"))],
        Strategy.MAJORITY_VOTE,
        field="intent",
    )
    assert original == _triage("t1", "billing", 0.6, "finance")


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ("mood", "has no field 'mood'"),
        ("ticket", "tutti.support.v1.Ticket, not a tutti.v1.Classification"),
        ("department", "not a single message field"),
        ("intent.label", "not a single message field"),
        ("", "tutti.support.v1.Triage, not a tutti.v1.Classification"),
    ],
)
def test_a_field_that_does_not_lead_to_a_classification_is_a_request_error(
    field: str, says: str
) -> None:
    with pytest.raises(RequestError) as raised:
        merge([("a", _triage("t1", "billing", 0.6, "finance"))], Strategy.MAJORITY_VOTE, field)
    assert raised.value.field == "field"
    assert says in str(raised.value)


# Bad candidates and weights


def test_candidates_of_different_types_name_the_odd_one_out() -> None:
    with pytest.raises(RequestError) as raised:
        merge(
            [("a", _cls("billing", 0.6)), ("b", _triage("t1", "billing", 0.6, "finance"))],
            Strategy.MAJORITY_VOTE,
        )
    assert raised.value.field == "candidates[1].output"


def test_no_candidates_is_a_request_error() -> None:
    with pytest.raises(RequestError) as raised:
        merge([], Strategy.MAJORITY_VOTE)
    assert raised.value.field == "candidates"


def test_two_candidates_with_one_name_are_refused_since_winners_are_named() -> None:
    with pytest.raises(RequestError) as raised:
        merge([("a", _cls("x", 0.5)), ("a", _cls("y", 0.5))], Strategy.MAJORITY_VOTE)
    assert raised.value.field == "candidates[1].name"


def test_a_negative_weight_is_a_request_error_naming_the_candidate() -> None:
    with pytest.raises(RequestError) as raised:
        merge([("a", _cls("x", 0.5))], Strategy.PROBABILITY_AVERAGE, weights={"a": -1.0})
    assert raised.value.field == 'weights["a"]'


def test_all_zero_weights_leave_nothing_to_average() -> None:
    with pytest.raises(RequestError) as raised:
        merge([("a", _cls("x", 0.5))], Strategy.PROBABILITY_AVERAGE, weights={"a": 0.0})
    assert raised.value.field == "weights"
