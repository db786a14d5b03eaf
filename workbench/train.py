"""`tutti train`: one model from the user's labelled TSV/CSV file, scored on a dev file if given."""

from __future__ import annotations

from collections import Counter

__all__ = ["train"]


def train(
    data: str,
    kind: str,
    out: str,
    seed: int,
    text_column: str,
    label_column: str,
    departments: str | None,
    department: str | None,
    predict_department: bool,
    dev: str | None = None,
    name: str | None = None,
) -> int:
    """Train one model from a labelled TSV/CSV file into `out`; score it on `dev`."""
    from specialist_service import training

    labelled = training.read_labelled(data, text_column, label_column)
    print(f"read {data}: {len(labelled.texts)} rows, {len(set(labelled.labels))} labels")
    groups = training.read_departments(departments) if departments else None
    selected = training.select_for(labelled, kind, groups, department, predict_department, data)
    if department and kind == "specialist":
        print(f"department {department}: {_summary(selected.labels, 'label')}")
    elif predict_department:
        print(f"predicting the department: {_summary(selected.labels, 'department')}")
    dev_set = None
    if dev is not None:
        # Read before the fit, so that a bad dev file fails in a second, not after training.
        dev_rows = training.read_labelled(dev, text_column, label_column)
        dev_set = training.select_dev(dev_rows, kind, groups, department, predict_department)
    artifact = training.train(selected, kind, out, seed, name=name, dev=dev_set)
    print(f"serve it with: backend: sklearn, model: {artifact.model_file}")
    return 0


def _summary(labels: tuple[str, ...], noun: str) -> str:
    counts = Counter(labels)
    shown = ", ".join(f"{label} ({n})" for label, n in sorted(counts.items())[:8])
    more = f", and {len(counts) - 8} more" if len(counts) > 8 else ""
    plural = noun if len(counts) == 1 else f"{noun}s"
    return f"{len(labels)} rows, {len(counts)} {plural}: {shown}{more}"
