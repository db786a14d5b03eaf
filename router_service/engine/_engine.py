"""The engine of one composition: its set-up, and the dispatch of each node to its kind's coroutine."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from typing import assert_never

from google.protobuf import any_pb2
from opentelemetry import context, trace

from router_service._telemetry import RouterInstruments, tracer
from router_service.cache import StageCaches
from router_service.engine._budget import Budgets
from router_service.engine._call import StageCalls
from router_service.engine._cascade import run_cascade
from router_service.engine._circuit import Circuit
from router_service.engine._client import StageClient
from router_service.engine._decode import Payloads
from router_service.engine._escalate import run_escalate
from router_service.engine._fallback import run_fallback
from router_service.engine._fanout import run_fanout
from router_service.engine._route import run_route
from router_service.engine._run import Result, Run
from router_service.engine._sequence import run_sequence
from router_service.engine._split import run_split
from router_service.plan import (
    CascadeNode,
    Composition,
    EscalateNode,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
    SplitNode,
    StageNode,
    StageProfile,
    StageSpec,
    answering_stages,
    expectations,
    profiles,
    walk,
)
from tutti.messages import MessageTypes
from tutti.telemetry import tracing_enabled

__all__ = ["Engine"]


class Engine:
    """Executes one composition's plan against its stages, each reached through a StageClient.

    `clients` gives the client of each stage (a GrpcStageClient on a
    channel, or a FakeStageClient in tests). Payloads travel as the `Any`
    bytes a stage returned; the engine decodes an output only to validate
    it or to read a decision from it, and never re-encodes it.
    """

    def __init__(
        self,
        composition: Composition,
        clients: Callable[[StageSpec], StageClient],
        types: MessageTypes,
        described: Mapping[str, StageProfile] | None = None,
        rng: random.Random | None = None,
        caches: StageCaches | None = None,
    ) -> None:
        self.composition = composition
        self.types = types
        self.rng = rng or random.Random()
        self.profiles = profiles(composition, described)
        self.instruments = RouterInstruments.create()
        self.budget = Budgets(expectations(composition.flow, self.profiles), self.profiles)
        # Decided once: with no tracer provider, no span is started and no attribute built.
        self._tracing = tracing_enabled()
        self._spans: dict[int, tuple[str, dict[str, str]]] = {}
        self._composition_label = {"tutti.composition": composition.name}
        self.payloads = Payloads(
            types, [n.output_type for n in walk(composition.flow)] + [composition.input_type]
        )
        self.circuits = {
            name: Circuit(spec.circuit)
            for name, spec in composition.stages.items()
            if spec.circuit is not None
        }
        self.calls = StageCalls(
            composition.name,
            {name: clients(spec) for name, spec in composition.stages.items()},
            self.profiles,
            self.circuits,
            self.budget,
            self.payloads,
            self.instruments,
            self._tracing,
            frozenset(id(n) for n in answering_stages(composition.flow)),
            caches,
        )

    @property
    def caches(self) -> StageCaches | None:
        return self.calls.caches

    async def run(self, payload: any_pb2.Any, run: Run) -> Result:
        """Run the whole flow on one request's input."""
        result = await self.node(self.composition.flow, payload, run)
        self.instruments.request_cost.record(run.cost, self._composition_label)
        return result

    async def node(self, node: Node, payload: any_pb2.Any, run: Run) -> Result:
        """Run one flow node, inside its own span when tracing is on and the request sampled."""
        if not self._tracing:
            return await self._dispatch(node, payload, run)
        parent = trace.get_current_span().get_span_context()
        if parent.is_valid and not parent.trace_flags.sampled:
            # Under a request the sampler left out, every span would be a no-op: skip them.
            return await self._dispatch(node, payload, run)
        named = self._spans.get(id(node))
        if named is None:
            name = f"stage {node.label}" if isinstance(node, StageNode) else node.label
            attributes = {"tutti.composition": self.composition.name, "tutti.node": node.label}
            named = self._spans[id(node)] = (name, attributes)
        # start_span and attach rather than start_as_current_span, whose generator-based
        # context managers cost more than the span itself.
        span = tracer.start_span(named[0], attributes=named[1])
        token = context.attach(trace.set_span_in_context(span))
        try:
            return await self._dispatch(node, payload, run)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            context.detach(token)
            span.end()

    def _dispatch(self, node: Node, payload: any_pb2.Any, run: Run) -> Awaitable[Result]:
        """The coroutine of the node's kind; a kind without one here fails the type check."""
        match node:
            case StageNode():
                return self.calls.stage(node, payload, run)
            case SequenceNode():
                return run_sequence(self, node, payload, run)
            case RouteNode():
                return run_route(self, node, payload, run)
            case CascadeNode():
                return run_cascade(self, node, payload, run)
            case EscalateNode():
                return run_escalate(self, node, payload, run)
            case FanoutNode():
                return run_fanout(self, node, payload, run)
            case SplitNode():
                return run_split(self, node, payload, run)
            case FallbackNode():
                return run_fallback(self, node, payload, run)
            case _:
                assert_never(node)

    async def flush(self) -> None:
        """Wait for the cache writes that answers in flight left behind (a test's sync point)."""
        await self.calls.flush()

    async def close(self) -> None:
        """Finish the cache writes in flight and close the cache."""
        await self.calls.close()
