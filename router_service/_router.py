"""The router: loads compositions, learns stage types from Describe, and routes requests."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from grpc import aio

from router_service._cache import build_caches
from router_service._compile import Draft, compile_composition, read_composition
from router_service._engine import Engine, Run
from router_service._plan import Composition
from router_service._profile import StageProfile
from tutti.channels import ChannelPool
from tutti.config import Price
from tutti.errors import ConfigError, NotFoundError, Problem, TuttiError
from tutti.messages import MessageTypes, validate_input
from tutti.v1 import router_pb2, stage_pb2

__all__ = ["Router", "describe_stages"]

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

    async def one(name: str, endpoint: str) -> tuple[str, Described | None]:
        stub = channels.get(endpoint).unary_unary(
            "/tutti.v1.StageService/Describe",
            request_serializer=stage_pb2.DescribeRequest.SerializeToString,
            response_deserializer=stage_pb2.DescribeResponse.FromString,
        )
        try:
            response = await stub(
                stage_pb2.DescribeRequest(), timeout=timeout_s, wait_for_ready=True
            )
        except aio.AioRpcError as exc:
            log.warning(
                "stage '%s' at %s did not answer Describe: %s", name, endpoint, exc.code().name
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
        one(name, spec.endpoint)
        for name, spec in draft.stages.items()
        if not spec.is_merger and spec.endpoint
    ]
    return {
        name: described
        for name, described in await asyncio.gather(*pending)
        if described is not None
    }


class Router:
    """Serves one or more compositions; plain Python, no servicer in sight."""

    def __init__(
        self, engines: Mapping[str, Engine], types: MessageTypes, channels: ChannelPool
    ) -> None:
        self.engines = dict(engines)
        self.types = types
        self.channels = channels

    @classmethod
    async def load(
        cls,
        paths: Sequence[str | Path],
        endpoints: Mapping[str, str] | None = None,
        channels: ChannelPool | None = None,
        describe: bool = True,
    ) -> Router:
        """Read, describe and compile every composition; raise CompositionError on any problem.

        `endpoints` overrides stage endpoints by stage name (as `tutti up` does).
        """
        channels = channels or ChannelPool()
        router = cls({}, MessageTypes(), channels)
        try:
            for path in paths:
                engine = await router._load_one(path, endpoints or {}, describe)
                name = engine.composition.name
                if name in router.engines:
                    first = router.engines[name].composition.source
                    await engine.close()
                    raise ConfigError(
                        Problem(
                            str(path), 1, f"composition '{name}' is already served from {first}"
                        )
                    )
                router.engines[name] = engine
        except BaseException:
            await router.close()
            raise
        return router

    async def _load_one(
        self, path: str | Path, endpoints: Mapping[str, str], describe: bool
    ) -> Engine:
        draft = read_composition(path)
        if endpoints:
            stages = {
                name: dataclasses.replace(spec, endpoint=endpoints.get(name, spec.endpoint))
                for name, spec in draft.stages.items()
            }
            draft = dataclasses.replace(draft, stages=stages)
        described = await describe_stages(draft, self.channels, self.types) if describe else {}
        composition = compile_composition(
            draft, {n: (d.input_type, d.output_type) for n, d in described.items()}, self.types
        )
        for warning in composition.warnings:
            log.warning("%s", warning)
        cards = {name: d.profile for name, d in described.items()}
        policies = {
            name: (spec.cache.ttl_s, spec.cache.max_entries)
            for name, spec in composition.stages.items()
            if spec.cache is not None
        }
        caches = (
            build_caches(policies, composition.cache.backend, composition.cache.url or None)
            if policies
            else None
        )
        return Engine(composition, self.channels, self.types, cards, caches=caches)

    def composition(self, name: str) -> Engine:
        engine = self.engines.get(name)
        if engine is None:
            served = ", ".join(sorted(self.engines)) or "none"
            raise NotFoundError(f"composition '{name}' not found; this router serves: {served}")
        return engine

    async def route(
        self, request: router_pb2.RouteRequest, time_remaining: float | None
    ) -> router_pb2.RouteResponse:
        started = time.perf_counter()
        if request.HasField("options"):
            validate_input(request.options, "options")
        engine = self.composition(request.composition)
        composition = engine.composition
        decoded = self.types.unpack(request.input, composition.input_type, "input")
        validate_input(decoded, "input")
        response = router_pb2.RouteResponse()
        execution = response.execution
        run = Run(
            deadline=_deadline(composition, time_remaining),
            cost_cap=_cost_cap(composition, request.options),
            no_cache=request.options.no_cache,
            stages=execution.stages,  # records go straight into the answer
        )
        try:
            result = await engine.run(request.input, run)
        except TuttiError as exc:
            engine.instruments.errors.add(
                1, {"tutti.composition": composition.name, "rpc.grpc.status_code": exc.code.name}
            )
            raise
        response.output.CopyFrom(result.payload)
        execution.path.extend(run.path)
        execution.total_cost_usd = run.cost
        execution.latency_ms = (time.perf_counter() - started) * 1000.0
        execution.composition = composition.name
        return response

    def list(self) -> router_pb2.ListCompositionsResponse:
        response = router_pb2.ListCompositionsResponse()
        for name in sorted(self.engines):
            composition = self.engines[name].composition
            response.compositions.add(
                name=name,
                input_type=composition.input_type,
                output_type=composition.output_type,
                stages=sorted(composition.stages),
                budget_latency_ms=composition.budget.latency_ms or 0.0,
                budget_cost_usd=composition.budget.cost_usd or 0.0,
                descriptors=self.types.descriptor_set(
                    [composition.input_type, composition.output_type]
                ),
            )
        return response

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.close()
        await self.channels.close()


def _deadline(composition: Composition, time_remaining: float | None) -> float | None:
    limits = [
        t
        for t in (time_remaining, (composition.budget.latency_ms or 0) / 1000.0 or None)
        if t is not None
    ]
    return time.monotonic() + min(limits) if limits else None


def _cost_cap(composition: Composition, options: router_pb2.RouteOptions) -> float | None:
    caps = [c for c in (options.max_cost_usd or None, composition.budget.cost_usd) if c is not None]
    return min(caps) if caps else None
