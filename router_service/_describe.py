"""Describe: what each live stage says about itself (its types, price, latency, version)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from router_service.composition import Draft
from router_service.engine import GrpcStageClient, StageClientError, stage_channel
from router_service.plan import StageProfile, StageSpec
from tutti.channels import ChannelPool
from tutti.config import Price
from tutti.messages import MessageTypes

__all__ = ["DESCRIBE_TIMEOUT_S", "Described", "describe_stages"]

log = logging.getLogger("tutti.router")

DESCRIBE_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class Described:
    """What a live stage said about itself."""

    input_type: str
    output_type: str
    profile: StageProfile


async def describe_stages(
    draft: Draft, channels: ChannelPool, types: MessageTypes, timeout_s: float = DESCRIBE_TIMEOUT_S
) -> dict[str, Described]:
    """Ask every model stage for its contract; learn the types it reports.

    A stage that does not answer is left out: its declared types, if any,
    still let the composition compile.
    """

    async def one(name: str, spec: StageSpec) -> tuple[str, Described | None]:
        endpoint = spec.endpoint
        client = GrpcStageClient(stage_channel(channels, spec))
        try:
            response = await client.describe(timeout_s)
        except StageClientError as exc:
            log.warning(
                "stage '%s' at %s did not answer Describe: %s", name, endpoint, exc.code.name
            )
            return name, None
        try:
            types.learn(response.descriptors)
        except (KeyError, TypeError, ValueError) as exc:
            # A stage whose descriptors do not fit: its declared types, if any, still apply.
            log.warning(
                "stage '%s' at %s described types that cannot be used: %s", name, endpoint, exc
            )
            return name, None
        card = response.model_card.price
        price = Price.from_proto(card)
        profile = StageProfile(
            price=price,
            expected_ms=response.model_card.expected_latency_ms,
            version=response.model_card.version,
        )
        return name, Described(response.input_type, response.output_type, profile)

    pending = [
        one(name, spec)
        for name, spec in draft.stages.items()
        if not spec.is_merger and spec.endpoint
    ]
    return {
        name: described
        for name, described in await asyncio.gather(*pending)
        if described is not None
    }
