"""`tutti eval`: a composition and its baselines over the user's labelled file, on a mesh."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grpc import aio

from router_service import Draft, compile_composition, describe_stages, read_composition
from tutti.channels import ChannelPool
from tutti.config import Problems
from tutti.errors import ConfigError
from tutti.messages import MessageTypes
from tutti.v1 import router_pb2, router_pb2_grpc
from workbench.dataset import Dataset, LabelPath, default_label_path, label_path, read_dataset
from workbench.evaluation._figures import Figures, compare, figures
from workbench.evaluation._known_labels import check_known_labels
from workbench.evaluation._outcomes import Outcome, run_system
from workbench.evaluation._report import EvalReport
from workbench.evaluation._systems import (
    System,
    baseline_label,
    draft_baselines,
    stage_types,
    write_baselines,
)
from workbench.mesh import Mesh

__all__ = [
    "DataOptions",
    "Evaluation",
    "Served",
    "evaluate",
    "outcomes_json",
    "read_inputs",
    "remote",
    "served",
    "summarise",
    "with_endpoints",
]


@dataclass(frozen=True)
class DataOptions:
    """How the rows of the labelled file become inputs and labels (`--input-column` ...)."""

    input_column: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    input_field: str | None = None
    label_path: str | None = None
    # Rows whose label no model card lists are an error unless this is set.
    allow_unseen_labels: bool = False


@dataclass(frozen=True)
class Evaluation:
    report: EvalReport
    outcomes: dict[str, list[Outcome]]


def read_inputs(
    composition: str | Path, data: str | Path, options: DataOptions
) -> tuple[Draft, Dataset, LabelPath, MessageTypes]:
    """Everything checked before anything starts: the file, the types, the label's path."""
    draft = read_composition(composition)
    if draft.problems:
        raise ConfigError(list(draft.problems))
    types = MessageTypes()
    output = types.message_class(draft.output_type).DESCRIPTOR
    path = (
        label_path(output, options.label_path, source=str(composition))
        if options.label_path
        else default_label_path(output, source=str(composition))
    )
    dataset = read_dataset(
        data,
        types.message_class(draft.input_type).DESCRIPTOR,
        input_column=options.input_column,
        label_column=options.label_column,
        input_field=options.input_field,
        text_column=options.text_column,
    )
    if not options.allow_unseen_labels:
        check_known_labels(draft, dataset, options.label_column)
    return draft, dataset, path, types


@dataclass
class Served:
    """A router over the composition and its baselines, and the mesh it runs on."""

    address: str
    systems: list[System]
    mesh: Mesh | None


@contextlib.asynccontextmanager
async def served(
    draft: Draft, types: MessageTypes, label: LabelPath, against: Sequence[str]
) -> AsyncIterator[Served]:
    """Start the composition's services and a router serving it and each baseline alone."""
    # The stages only: the router comes once the baselines' files are written.
    mesh = await asyncio.to_thread(lambda: Mesh.start(draft.source, router=False))
    try:
        pool = ChannelPool()
        try:
            endpoints = dict(mesh.endpoints)
            located = with_endpoints(draft, endpoints)
            described = await describe_stages(located, pool, types)
        finally:
            await pool.close()
        said = {n: (d.input_type, d.output_type) for n, d in described.items()}
        known = {n: t for n, t in stage_types(draft, said).items() if all(t)}
        composition = compile_composition(located, known, types)
        baselines = draft_baselines(draft, composition, said, types, label.path, against)
        with tempfile.TemporaryDirectory(prefix="tutti-eval-") as folder:
            files = write_baselines(draft, baselines, Path(folder))
            paths = [Path(draft.source), *(Path(folder) / f"{s.composition}.yaml" for s in files)]
            address = await asyncio.to_thread(mesh.add_router, paths)
            main = System(draft.name, draft.name, "composition", label=label)
            yield Served(address, [main, *files], mesh)
    finally:
        await asyncio.to_thread(mesh.stop)


async def remote(
    address: str, draft: Draft, types: MessageTypes, label: LabelPath, against: Sequence[str]
) -> list[System]:
    """The systems on a router already running: the composition, and `against` as
    compositions it serves (each a single stage, say), checked against ListCompositions."""
    async with aio.insecure_channel(address) as channel:
        listed = await router_pb2_grpc.RouterServiceStub(channel).ListCompositions(
            router_pb2.ListCompositionsRequest(), timeout=30
        )
    served = {c.name: c for c in listed.compositions}
    problems = Problems(draft.source)
    systems = [System(draft.name, draft.name, "composition", label=label)]
    for name in [draft.name, *against]:
        info = served.get(name)
        if info is None:
            problems.at_line(
                1,
                f"the router at {address} serves no composition {name!r} (it serves: "
                f"{', '.join(sorted(served)) or 'none'})",
            )
            continue
        if name == draft.name:
            continue
        path = baseline_label(types, info.output_type, label.path)
        if path is None:
            problems.at_line(
                1, f"--against {name!r}: its output {info.output_type} has no {label.path!r}"
            )
            continue
        systems.append(System(name, name, "baseline", label=path))
    problems.raise_if_any()
    return systems


def with_endpoints(draft: Draft, endpoints: Mapping[str, str]) -> Draft:
    """`draft` with the stages reached at `endpoints` (by stage name) where given."""
    stages = {
        name: dataclasses.replace(spec, endpoint=endpoints.get(name, spec.endpoint))
        for name, spec in draft.stages.items()
    }
    return dataclasses.replace(draft, stages=stages)


async def evaluate(
    draft: Draft,
    dataset: Dataset,
    label: LabelPath,
    types: MessageTypes,
    systems: Sequence[System],
    address: str,
    concurrency: int = 8,
) -> Evaluation:
    """Every system over every item, one system after the other."""
    outcomes: dict[str, list[Outcome]] = {}
    async with aio.insecure_channel(address) as channel:
        for system in systems:
            assert system.label is not None
            outcomes[system.name] = await run_system(
                channel,
                system.composition,
                dataset,
                system.label,
                types,
                concurrency,
                name=system.name,
            )
    return Evaluation(summarise(draft, dataset, label, systems, outcomes), outcomes)


def summarise(
    draft: Draft,
    dataset: Dataset,
    label: LabelPath,
    systems: Sequence[System],
    outcomes: dict[str, list[Outcome]],
) -> EvalReport:
    """The report of outcomes already gathered, live or replayed."""
    results: list[tuple[Figures, list[Outcome]]] = [
        (figures(s.name, s.kind, outcomes[s.name]), outcomes[s.name]) for s in systems
    ]
    composed = next(r for r, s in zip(results, systems, strict=True) if s.kind == "composition")
    baselines = [r for r, s in zip(results, systems, strict=True) if s.kind == "baseline"]
    return EvalReport(
        composition=draft.name,
        data=dataset.source,
        items=len(dataset.items),
        label=label.path,
        systems=tuple(f for f, _ in results),
        comparison=compare(composed, baselines),
    )


def outcomes_json(evaluation: Evaluation) -> str:
    """Every outcome, one JSON object a line, for a user who wants to look at items."""
    lines = []
    for system, outcomes in evaluation.outcomes.items():
        for o in outcomes:
            lines.append(json.dumps({"system": system, **o.__dict__, "stages": list(o.stages)}))
    return "\n".join(lines) + "\n"
