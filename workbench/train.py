"""`tutti train`: one model from the user's labelled TSV/CSV file."""

from __future__ import annotations

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
) -> int:
    """Train one model from a labelled TSV/CSV file into `out`."""
    from specialist_service import training

    labelled = training.read_labelled(data, text_column, label_column)
    groups = training.read_departments(departments) if departments else None
    selected = training.select_for(labelled, kind, groups, department, predict_department, data)
    artifact = training.train(selected, kind, out, seed)
    print(f"serve it with: backend: sklearn, model: {artifact.model_file}")
    return 0
