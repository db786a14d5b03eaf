"""Merge strategies: combine the Classifications of a fan-out's candidates into one decision."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import message

from tutti.errors import RequestError
from tutti.messages import CLASSIFICATION, follow_to_classification, validate_input

__all__ = ["CLASSIFICATION", "Merged", "Strategy", "merge"]


class Strategy(enum.Enum):
    """How the candidates' labels become one label."""

    MAJORITY_VOTE = "majority_vote"
    CONFIDENCE_WEIGHTED_VOTE = "confidence_weighted_vote"
    PROBABILITY_AVERAGE = "probability_average"
    HIGHEST_CONFIDENCE = "highest_confidence"
    FIRST_VALID = "first_valid"


@dataclass(frozen=True)
class Merged:
    """The merged message, of the candidates' type, and the names that agree with it."""

    output: message.Message
    winners: tuple[str, ...]


@dataclass(frozen=True)
class _Vote:
    """One candidate's Classification, read out of its message."""

    index: int
    name: str
    label: str
    confidence: float
    scores: dict[str, float]
    weight: float

    def distribution(self) -> dict[str, float]:
        # A model that reports no scores still says how sure it is of its own label.
        return self.scores or {self.label: self.confidence}


@dataclass(frozen=True)
class _Decision:
    """The merged Classification and the candidate whose message carries it."""

    label: str
    confidence: float
    scores: Mapping[str, float]
    source: int


def merge(
    candidates: Sequence[tuple[str, message.Message]],
    strategy: Strategy,
    field: str = "",
    weights: Mapping[str, float] | None = None,
) -> Merged:
    """Merge named candidates, all of one message type, into one message.

    `field` is the dotted path to the Classification inside each candidate
    ("intent", "triage.intent"), empty when the candidates are Classifications.
    `weights` are per candidate name and default to 1.
    """
    path = _check_candidates(candidates, field)
    weights = _check_weights(weights or {})
    votes = [
        _read(index, name, msg, path, weights.get(name, 1.0))
        for index, (name, msg) in enumerate(candidates)
    ]
    eligible = votes
    if strategy is Strategy.FIRST_VALID:
        eligible = _valid_votes(candidates, votes)
        decision = _own_decision(eligible[0])
    else:
        decision = _STRATEGIES[strategy](votes)
    output = _with_classification(candidates[decision.source][1], path, decision)
    winners = tuple(v.name for v in eligible if v.label == decision.label)
    return Merged(output=output, winners=winners)


def _majority_vote(votes: Sequence[_Vote]) -> _Decision:
    """Most common label; ties go to the higher mean confidence, then to candidate order."""
    groups = _by_label(votes)

    def rank(label: str) -> tuple[int, float, int]:
        group = groups[label]
        return (-len(group), -_mean(v.confidence for v in group), group[0].index)

    label = min(groups, key=rank)
    group = groups[label]
    # No one candidate's scores describe a vote, so the merged decision carries none.
    return _Decision(label, _mean(v.confidence for v in group), {}, _most_confident(group))


def _confidence_weighted_vote(votes: Sequence[_Vote]) -> _Decision:
    """Label with the largest sum of confidence x weight; ties go to candidate order."""
    _require_positive_weight(votes)
    groups = _by_label(votes)
    totals = {label: sum(v.confidence * v.weight for v in group) for label, group in groups.items()}
    label = min(groups, key=lambda lb: (-totals[lb], groups[lb][0].index))
    group = groups[label]
    group_weight = sum(v.weight for v in group)
    confidence = (
        totals[label] / group_weight if group_weight > 0 else _mean(v.confidence for v in group)
    )
    return _Decision(label, confidence, {}, _most_confident(group))


def _probability_average(votes: Sequence[_Vote]) -> _Decision:
    """Weighted average of the score maps; the merged label is its argmax."""
    total_weight = _require_positive_weight(votes)
    sums: dict[str, float] = {}
    for vote in votes:
        for label, p in vote.distribution().items():
            sums[label] = sums.get(label, 0.0) + vote.weight * p
    average = {label: s / total_weight for label, s in sums.items()}
    own: dict[str, int] = {}
    for vote in votes:
        own.setdefault(vote.label, vote.index)
    # Ties go to a label some candidate chose, earliest first, then to the alphabet.
    label = min(average, key=lambda lb: (-average[lb], own.get(lb, len(votes)), lb))
    agreeing = [v for v in votes if v.label == label]
    if agreeing:
        source = _most_confident(agreeing)
    else:
        source = min(votes, key=lambda v: (-v.distribution().get(label, 0.0), v.index)).index
    return _Decision(label, average[label], average, source)


def _highest_confidence(votes: Sequence[_Vote]) -> _Decision:
    """The single most confident candidate; ties go to candidate order."""
    return _own_decision(votes[_most_confident(votes)])


_STRATEGIES: dict[Strategy, Callable[[Sequence[_Vote]], _Decision]] = {
    Strategy.MAJORITY_VOTE: _majority_vote,
    Strategy.CONFIDENCE_WEIGHTED_VOTE: _confidence_weighted_vote,
    Strategy.PROBABILITY_AVERAGE: _probability_average,
    Strategy.HIGHEST_CONFIDENCE: _highest_confidence,
}


def _valid_votes(
    candidates: Sequence[tuple[str, message.Message]], votes: Sequence[_Vote]
) -> list[_Vote]:
    """The votes whose whole message passes its protovalidate constraints, in order."""
    valid: list[_Vote] = []
    reasons: list[str] = []
    for vote, (_, msg) in zip(votes, candidates, strict=True):
        try:
            validate_input(msg, f"candidates[{vote.index}].output")
        except RequestError as exc:
            reasons.append(f"{vote.name!r} ({exc})")
        else:
            valid.append(vote)
    if not valid:
        raise RequestError("candidates", "none passes validation: " + "; ".join(reasons))
    return valid


def _own_decision(vote: _Vote) -> _Decision:
    return _Decision(vote.label, vote.confidence, vote.scores, vote.index)


def _by_label(votes: Sequence[_Vote]) -> dict[str, list[_Vote]]:
    groups: dict[str, list[_Vote]] = {}
    for vote in votes:
        groups.setdefault(vote.label, []).append(vote)
    return groups


def _most_confident(votes: Sequence[_Vote]) -> int:
    return min(votes, key=lambda v: (-v.confidence, v.index)).index


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)


def _require_positive_weight(votes: Sequence[_Vote]) -> float:
    total = sum(v.weight for v in votes)
    if total <= 0:
        raise RequestError("weights", "give every candidate weight 0; at least one must be > 0")
    return total


def _check_candidates(candidates: Sequence[tuple[str, message.Message]], field: str) -> list[str]:
    """Check names and types, and resolve `field` to the path of a Classification."""
    if not candidates:
        raise RequestError("candidates", "is empty; send at least one candidate")
    seen: set[str] = set()
    first_type = candidates[0][1].DESCRIPTOR.full_name
    for index, (name, msg) in enumerate(candidates):
        if not name:
            raise RequestError(f"candidates[{index}].name", "is empty; name the branch")
        if name in seen:
            raise RequestError(f"candidates[{index}].name", f"repeats {name!r}")
        seen.add(name)
        actual = msg.DESCRIPTOR.full_name
        if actual != first_type:
            raise RequestError(
                f"candidates[{index}].output", f"holds {actual}; candidates[0] holds {first_type}"
            )
    return _classification_path(candidates[0][1].DESCRIPTOR, field)


def _classification_path(root: Any, field: str) -> list[str]:
    path = field.split(".") if field else []
    if "" in path:
        raise RequestError("field", f"{field!r} has an empty part")
    current, index, why = follow_to_classification(root, field)
    if why == "missing":
        raise RequestError("field", f"{field!r}: {current.full_name} has no field {path[index]!r}")
    if why:
        where = ".".join(path[: index + 1])
        raise RequestError("field", f"{field!r}: {where!r} is not a single message field")
    if current.full_name != CLASSIFICATION:
        what = repr(field) if field else "is empty, so the candidate itself"
        raise RequestError("field", f"{what} is a {current.full_name}, not a {CLASSIFICATION}")
    return path


def _check_weights(weights: Mapping[str, float]) -> Mapping[str, float]:
    for name, weight in weights.items():
        if not math.isfinite(weight) or weight < 0:
            raise RequestError(f'weights["{name}"]', f"is {weight}; must be a finite number >= 0")
    return weights


def _read(index: int, name: str, msg: message.Message, path: list[str], weight: float) -> _Vote:
    target: Any = msg
    for part in path:
        target = getattr(target, part)
    return _Vote(index, name, target.label, target.confidence, dict(target.scores), weight)


def _with_classification(
    msg: message.Message, path: list[str], decision: _Decision
) -> message.Message:
    """A copy of `msg` whose Classification at `path` is the merged one."""
    out = type(msg)()
    out.CopyFrom(msg)
    target: Any = out
    for part in path:
        target = getattr(target, part)
    # Set field by field: the candidates' Classification class may come from a learnt pool,
    # so CopyFrom a tutti.v1 Classification could refuse it.
    target.label = decision.label
    target.confidence = decision.confidence
    target.scores.clear()
    target.scores.update(decision.scores)
    return out
