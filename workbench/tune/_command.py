"""`tutti tune`: one recorded pass over the tuning file, then every setting replayed offline."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from tutti.errors import ConfigError, Problem
from workbench.evaluation import (
    DataOptions,
    Figures,
    draft_baselines,
    figures,
    read_inputs,
    write_baselines,
)
from workbench.mesh import Mesh
from workbench.tune._knobs import find_knobs, resolve_pins, rewrite
from workbench.tune._offline import RECORDING_CONCURRENCY, Replayer
from workbench.tune._results import Tuning, summary, write_results
from workbench.tune._search import Point, Target, choose, grid

__all__ = ["TuneTarget", "tune", "tuned"]


@dataclass(frozen=True)
class TuneTarget:
    """What the user asked for: one of the three is set."""

    max_cost_share: float | None = None  # of the strongest baseline's cost per item
    max_cost_usd: float | None = None
    min_quality: float | None = None


def _target(asked: TuneTarget, baselines: Sequence[Figures], source: str) -> Target:
    if asked.max_cost_usd is not None:
        return Target(max_cost_usd=asked.max_cost_usd)
    if asked.min_quality is not None:
        return Target(min_accuracy=asked.min_quality)
    if not baselines:
        raise ConfigError(
            Problem(source, 1, "--max-cost-share needs a baseline stage; use --max-cost USD")
        )
    strongest = max(baselines, key=lambda b: (b.cost_per_item_usd, b.accuracy))
    share = asked.max_cost_share if asked.max_cost_share is not None else 0.25
    return Target(max_cost_usd=share * strongest.cost_per_item_usd)


def _bar(total: int, what: str) -> tqdm[None]:
    return tqdm(total=total, desc=f"{what:<28}", file=sys.stderr, ncols=90, disable=None)


async def _tune(
    composition: str | Path,
    data: str | Path,
    options: DataOptions,
    asked: TuneTarget,
    pins: Sequence[str],
    max_settings: int,
) -> tuple[Tuning, str]:
    draft, dataset, label, types = read_inputs(composition, data, options)
    knobs = find_knobs(draft.document)
    if not knobs:
        raise ConfigError(
            Problem(
                draft.source,
                1,
                "no thresholds to tune: tune sets the `below` of cascade, escalate tiers and"
                " route escalations, and this flow has none",
            )
        )
    pinned = resolve_pins(knobs, pins, draft.source)
    # The stages only: settings are replayed by a router in this process.
    mesh = await asyncio.to_thread(lambda: Mesh.start(draft.source, router=False))
    replayer = Replayer(draft, mesh.endpoints, types)
    try:
        await replayer.describe()
        composition_plan = replayer.engine({}).composition
        systems = draft_baselines(
            draft, composition_plan, replayer.described, types, label.path, ()
        )
        started = time.perf_counter()
        # The recorded pass: each free knob at 1 (the others at 0) reaches its target for
        # every item, and each baseline answers every item; all later runs replay these.
        free = [k for k in knobs if k not in pinned]
        passes = [{**pinned, **{k: (1.0 if k is knob else 0.0) for k in free}} for knob in free]
        for values in passes:
            await replayer.outcomes(
                replayer.engine(values), dataset, label, concurrency=RECORDING_CONCURRENCY
            )
        baselines: list[Figures] = []
        with tempfile.TemporaryDirectory(prefix="tutti-tune-") as folder:
            for system in write_baselines(draft, systems, Path(folder)):
                engine = replayer.baseline_engine(Path(folder) / f"{system.composition}.yaml")
                assert system.label is not None
                outcomes = await replayer.outcomes(
                    engine, dataset, system.label, concurrency=RECORDING_CONCURRENCY
                )
                baselines.append(figures(system.name, "baseline", outcomes))
        record_s = time.perf_counter() - started
        live_calls = replayer.recording.live_calls
        print(
            f"recorded {live_calls} stage calls for {len(dataset.items)} items in {record_s:.1f} s",
            file=sys.stderr,
        )
        target = _target(asked, baselines, draft.source)
        settings = grid(knobs, pinned, max_settings)
        started = time.perf_counter()
        points = []
        with _bar(len(settings), f"{len(settings)} settings") as bar:
            for values in settings:
                outcomes = await replayer.outcomes(replayer.engine(values), dataset, label)
                result = figures(draft.name, "composition", outcomes)
                points.append(
                    Point(values, result.accuracy, result.cost_per_item_usd, result.errors)
                )
                bar.update()
        offline_s = time.perf_counter() - started
        if replayer.recording.live_calls != live_calls:
            print(
                f"{replayer.recording.live_calls - live_calls} stage calls the recorded pass"
                " had not made were made live during the search",
                file=sys.stderr,
            )
    finally:
        await replayer.close()
        await asyncio.to_thread(mesh.stop)
    current = {k: k.value for k in knobs}
    chosen = choose(points, target, current)
    tuning = Tuning(
        tuple(knobs),
        tuple(points),
        chosen,
        target,
        tuple(baselines),
        replayer.recording.live_calls,
        record_s,
        offline_s,
    )
    return tuning, draft.source


def tuned(
    composition: str | Path,
    data: str | Path,
    options: DataOptions,
    asked: TuneTarget,
    pins: Sequence[str] = (),
    max_settings: int = 1000,
    write_to: str | Path | None = None,
    out: str | Path | None = None,
) -> tuple[Tuning, Path | None]:
    """The tuning, with tune.json and frontier.png in `out`; the thresholds are written into
    `write_to` when a setting meets the target (returned: the file written, or None)."""
    tuning, source = asyncio.run(_tune(composition, data, options, asked, pins, max_settings))
    write_results(tuning, Path(out or f"tune-{Path(composition).stem}"))
    if tuning.chosen is None or write_to is None:
        return tuning, None
    text = Path(source).read_text(encoding="utf-8")
    Path(write_to).write_text(rewrite(text, tuning.chosen.values), encoding="utf-8")
    return tuning, Path(write_to)


def tune(
    composition: str,
    data: str,
    options: DataOptions,
    asked: TuneTarget,
    pins: Sequence[str] = (),
    max_settings: int = 1000,
    write: bool = False,
    write_to: str | None = None,
    out: str | None = None,
) -> int:
    """0 with a setting that meets the target (written when asked), 1 without one."""
    folder = Path(out or f"tune-{Path(composition).stem}")
    target = write_to or (composition if write else None)
    tuning, written = tuned(composition, data, options, asked, pins, max_settings, target, folder)
    print(summary(tuning))
    print(f"\nwrote {folder / 'tune.json'} and {folder / 'frontier.png'}")
    if tuning.chosen is None:
        message = f"tutti tune: no setting meets the target ({tuning.target.describe()})"
        print(message, file=sys.stderr)
        return 1
    if written is not None:
        print(f"wrote the thresholds into {written}; confirm them on held-out data:")
        print(f"  tutti eval {written} --data HELD_OUT_FILE")
    return 0
