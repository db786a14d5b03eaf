"""`tutti recommend --data`: train the models the picked pattern needs, then write the composition."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from tutti.errors import ConfigError
from workbench.recommend._answers import Cost, Latency
from workbench.recommend._data_plan import embeddings_installed, plan_models
from workbench.recommend._data_starter import (
    MODELS_FOLDER,
    data_composition,
    model_file,
    next_commands,
)

__all__ = ["from_data"]


def from_data(
    data: str,
    *,
    out: str,
    force: bool,
    departments: str | None = None,
    strong: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    seed: int = 0,
    latency: Latency = Latency.SECONDS,
    cost: Cost = Cost.MEDIUM,
    write: Callable[[str], None] = print,
) -> int:
    """Run `tutti recommend --data`: 0 written, 1 cannot write, 2 a problem with the data."""
    from specialist_service import training

    path = Path(out)
    folder = path.parent
    try:
        labelled = training.read_labelled(data, text_column, label_column)
        groups = training.read_departments(departments) if departments else None
        if strong is None:
            strong = "strong" if embeddings_installed() else "cheap"
            if strong == "cheap":
                write(
                    "the embeddings extra is not installed, so the strong tier is a TF-IDF model"
                    " too; pip install 'tutti[embeddings]' for sentence embeddings"
                )
        plan = plan_models(labelled, groups, strong, departments or "")
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"tutti recommend: error: {problem}", file=sys.stderr)
        print("tutti recommend: nothing trained, nothing written", file=sys.stderr)
        return 2
    taken = [str(path)] if path.exists() else []
    taken += [
        str(folder / model_file(m.stage))
        for m in plan.models
        if (folder / model_file(m.stage)).exists()
    ]
    if taken and not force:
        print(
            f"tutti recommend: {', '.join(taken)} already exist{'s' if len(taken) == 1 else ''};"
            " pass --force to overwrite, or --out to write elsewhere",
            file=sys.stderr,
        )
        return 1
    write(f"read {data}: {plan.rows} rows, {len(plan.labels)} labels")
    for model in plan.models:
        write(f"stage {model.stage}:")
        training.train(
            model.rows,
            model.kind,
            folder / MODELS_FOLDER / model.stage,
            seed,
            log=lambda line: write(f"  {line}"),
            name=model.stage,
        )
    text = data_composition(
        plan,
        name=_composition_name(data),
        file=path.name,
        data=_from(folder, data),
        departments=_from(folder, departments) if departments else "",
        latency=latency,
        cost=cost,
    )
    try:
        # "x" keeps the refusal to overwrite even if the file appeared while we trained.
        with path.open("w" if force else "x", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        print(f"tutti recommend: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    write(f"recommendation: {plan.pattern}")
    write(textwrap.fill(plan.reason, width=79, initial_indent="reason: ", subsequent_indent="  "))
    write(f"wrote {path}, over the models in {folder / MODELS_FOLDER}")
    write("next:")
    for command, what in next_commands(str(path)):
        write(f"  {command}")
        write(textwrap.fill(what, width=79, initial_indent="      ", subsequent_indent="      "))
    return 0


def _from(folder: Path, file: str) -> str:
    """`file` as a path from `folder`, where the composition's comments are read from."""
    return os.path.relpath(Path(file).resolve(), folder.resolve())


def _composition_name(data: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(data).stem).strip("-") or "starter"
