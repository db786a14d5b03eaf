"""Which rows and labels a model trains on, and is scored on, given the department options."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from specialist_service.training._data import LabelledData
from tutti.errors import ConfigError, Problem

__all__ = ["DevSet", "select_dev", "select_for"]


@dataclass(frozen=True)
class DevSet:
    """The rows of a dev file a model is scored on, in the model's own labels.

    `data` holds the rows to score (a triage's labels already turned into
    departments). `no_department` counts the labels of rows a triage cannot
    score because the departments file places them nowhere; `outside_department`
    counts the rows a specialist leaves to the other departments' models.
    A triage's dev set is scored per department too.
    """

    data: LabelledData
    no_department: Counter[str] = field(default_factory=Counter)
    outside_department: int = 0
    per_department: bool = False


def select_for(
    data: LabelledData,
    kind: str,
    departments: Mapping[str, Sequence[str]] | None,
    department: str | None,
    predict_department: bool,
    source: str,
) -> LabelledData:
    """The rows and labels a model of `kind` trains on, given the department options."""
    if (department or predict_department) and departments is None:
        raise ConfigError(
            Problem(source, 0, "--department and --predict-department need --departments FILE")
        )
    if kind == "specialist":
        if departments is None or not department:
            raise ConfigError(
                Problem(source, 0, "a specialist needs --departments FILE and --department NAME")
            )
        if department not in departments:
            raise ConfigError(
                Problem(
                    source, 0, f"no department {department!r} (known: {', '.join(departments)})"
                )
            )
        keep = set(departments[department])
        data = data.only(lambda label: label in keep)
        if not data.texts:
            raise ConfigError(
                Problem(data.source, 0, f"no rows with a label of department {department!r}")
            )
    if predict_department and departments is not None:
        owner = {label: d for d, labels in departments.items() for label in labels}
        unknown = sorted(set(data.labels) - set(owner))
        if unknown:
            raise ConfigError(
                Problem(source, 0, f"labels in no department: {', '.join(unknown[:5])}")
            )
        data = data.relabel(owner)
    return data


def select_dev(
    dev: LabelledData,
    kind: str,
    departments: Mapping[str, Sequence[str]] | None,
    department: str | None,
    predict_department: bool,
) -> DevSet:
    """The dev rows a model selected by the same options is scored on.

    Unlike training rows, a dev row with a label no department holds is not
    an error: it is counted, as a label the model never saw.
    """
    if kind == "specialist":
        if departments is None or department is None or department not in departments:
            raise ConfigError(
                Problem(
                    dev.source, 0, "a specialist needs --departments FILE and --department NAME"
                )
            )
        keep = set(departments[department])
        rows = dev.only(lambda label: label in keep)
        return DevSet(rows, outside_department=len(dev.texts) - len(rows.texts))
    if predict_department and departments is not None:
        owner = {label: d for d, labels in departments.items() for label in labels}
        rows = dev.only(lambda label: label in owner).relabel(owner)
        missing = Counter(label for label in dev.labels if label not in owner)
        return DevSet(rows, no_department=missing, per_department=True)
    return DevSet(dev)
