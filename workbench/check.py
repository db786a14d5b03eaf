"""`tutti check`: compile compositions offline (or against the live stages) and list every error."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tutti.errors import ConfigError
from tutti.messages import MessageTypes
from workbench.serve_blocks import serve_problems

if TYPE_CHECKING:
    from router_service import Described, Draft

__all__ = ["check"]


def check(files: list[str], live: bool = False) -> int:
    """Compile each file and load its `serve:` blocks as `tutti up` would; print every
    problem; 1 if any file has one."""
    from router_service import compile_composition, read_composition

    failed = 0
    for file in files:
        try:
            draft = read_composition(file)
            served = serve_problems(draft)
            types = MessageTypes()
            described: dict[str, tuple[str, str]] = {}
            if live:
                found = asyncio.run(_describe(draft, types))
                described = {name: (d.input_type, d.output_type) for name, d in found.items()}
            try:
                composition = compile_composition(draft, described, types)
            except ConfigError as exc:
                raise ConfigError(sorted([*exc.problems, *served], key=lambda p: p.line)) from exc
            if served:
                raise ConfigError(served)
        except ConfigError as exc:
            failed += 1
            count = len(exc.problems)
            print(f"{file}: {count} error{'s' if count != 1 else ''}")
            for problem in exc.problems:
                print(f"  {problem}")
            continue
        print(
            f"{file}: ok: composition '{composition.name}' {composition.input_type} ->"
            f" {composition.output_type}, {len(composition.stages)} stages"
        )
        for warning in composition.warnings:
            print(f"  warning: {warning}")
    return 1 if failed else 0


async def _describe(draft: Draft, types: MessageTypes) -> dict[str, Described]:
    from router_service import describe_stages
    from tutti.channels import ChannelPool

    channels = ChannelPool()
    try:
        return dict(await describe_stages(draft, channels, types, timeout_s=3.0))
    finally:
        await channels.close()
