"""Runs a compiled composition: calls stages, follows routes, fans out and merges."""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, message
from grpc import aio
from opentelemetry import trace

from router_service._cache import StageCaches, cache_key
from router_service._plan import (
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
    answering_stages,
    walk,
)
from router_service._profile import StageProfile, expectations, profiles
from router_service._resilience import FAILURE_CODES, Circuit, stage_channel
from router_service._spec import StageSpec
from router_service._telemetry import RouterInstruments, tracer
from tutti.channels import ChannelPool
from tutti.errors import (
    CostCapError,
    FanoutQuorumError,
    OutputValidationError,
    StageCallError,
    StageDeadlineError,
    StageError,
    TuttiError,
)
from tutti.messages import MessageTypes, type_name_of, validate_output
from tutti.telemetry import tracing_enabled
from tutti.v1 import merger_pb2, payloads_pb2, router_pb2, stage_pb2

__all__ = ["Engine", "Run"]

StageRun = router_pb2.StageRun
_STATUS_NAMES = {value: name for name, value in StageRun.Status.items()}
# Stage statuses a client may see as they are; any other becomes UNAVAILABLE.
_PASSED_THROUGH = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.INTERNAL,
    }
)
log = logging.getLogger("tutti.router")


@dataclass
class Result:
    """A node's output: the payload as received, and its decoded form if anyone decoded it."""

    payload: any_pb2.Any
    decoded: message.Message | None = None


@dataclass
class Run:
    """The state of one request: its deadline, cost so far and what ran."""

    deadline: float | None  # time.monotonic() value
    cost_cap: float | None
    no_cache: bool = False
    # A list, or the repeated field of the Execution the answer will carry (no copy at the end).
    stages: MutableSequence[router_pb2.StageRun] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    cost: float = 0.0
    # Receives the answering stage's text as it is generated (RouteCompletion), if set.
    deltas: Callable[[str], None] | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class Engine:
    """Executes one composition's plan against live stages.

    Payloads travel as the `Any` bytes a stage returned; the engine decodes
    an output only to validate it or to read a decision from it, and never
    re-encodes it.
    """

    def __init__(
        self,
        composition: Composition,
        channels: ChannelPool,
        types: MessageTypes,
        described: Mapping[str, StageProfile] | None = None,
        rng: random.Random | None = None,
        caches: StageCaches | None = None,
    ) -> None:
        self.composition = composition
        self.caches = caches
        self._writes: set[asyncio.Future[None]] = set()
        self.types = types
        self.rng = rng or random.Random()
        self.profiles = profiles(composition, described)
        self._prices = {name: profile.price for name, profile in self.profiles.items()}
        self._expected = expectations(composition.flow, self.profiles)
        self.instruments = RouterInstruments.create()
        # Decided once: with no tracer provider, no span is started and no attribute built.
        self._tracing = tracing_enabled()
        self._spans: dict[int, tuple[str, dict[str, str]]] = {}
        self._labels: dict[tuple[str, int], dict[str, str]] = {}
        self._composition_label = {"tutti.composition": composition.name}
        self._invoke: dict[str, Callable[..., Awaitable[stage_pb2.InvokeResponse]]] = {}
        self._merge: dict[str, Callable[..., Awaitable[merger_pb2.MergeResponse]]] = {}
        self._invoke_stream: dict[str, Callable[..., Any]] = {}
        self._answering = frozenset(id(n) for n in answering_stages(composition.flow))
        self.circuits = {
            name: Circuit(spec.circuit)
            for name, spec in composition.stages.items()
            if spec.circuit is not None
        }
        for name, spec in composition.stages.items():
            channel = stage_channel(channels, spec)
            if spec.is_merger:
                self._merge[name] = channel.unary_unary(
                    "/tutti.v1.MergerService/Merge",
                    request_serializer=merger_pb2.MergeRequest.SerializeToString,
                    response_deserializer=merger_pb2.MergeResponse.FromString,
                )
            else:
                self._invoke[name] = channel.unary_unary(
                    "/tutti.v1.StageService/Invoke",
                    request_serializer=stage_pb2.InvokeRequest.SerializeToString,
                    response_deserializer=stage_pb2.InvokeResponse.FromString,
                )
                self._invoke_stream[name] = channel.unary_stream(
                    "/tutti.v1.StageService/InvokeStream",
                    request_serializer=stage_pb2.InvokeStreamRequest.SerializeToString,
                    response_deserializer=stage_pb2.InvokeStreamResponse.FromString,
                )
        self._classes = {
            name: types.message_class(name)
            for name in {n.output_type for n in walk(composition.flow)} | {composition.input_type}
            if name
        }
        self._run_node: dict[type, Callable[[Any, any_pb2.Any, Run], Awaitable[Result]]] = {
            StageNode: self._stage,
            SequenceNode: self._sequence,
            RouteNode: self._route,
            CascadeNode: self._cascade,
            EscalateNode: self._escalate,
            FanoutNode: self._fanout,
            SplitNode: self._split,
            FallbackNode: self._fallback,
        }

    async def run(self, payload: any_pb2.Any, run: Run) -> Result:
        result = await self._node(self.composition.flow, payload, run)
        self.instruments.request_cost.record(run.cost, self._composition_label)
        return result

    async def _node(self, node: Node, payload: any_pb2.Any, run: Run) -> Result:
        """Run one flow node, inside its own span when tracing is on."""
        if not self._tracing:
            return await self._run_node[type(node)](node, payload, run)
        span = self._spans.get(id(node))
        if span is None:
            name = f"stage {node.label}" if isinstance(node, StageNode) else node.label
            attributes = {"tutti.composition": self.composition.name, "tutti.node": node.label}
            span = self._spans[id(node)] = (name, attributes)
        with tracer.start_as_current_span(span[0], attributes=span[1]):
            return await self._run_node[type(node)](node, payload, run)

    def _fits(self, node: Node, run: Run) -> str:
        """Why `node` no longer fits the request's time or money; "" when it does."""
        expected = self._expected[id(node)]
        remaining = run.remaining()
        if remaining is not None and expected.ms / 1000.0 > remaining:
            return f"{node.label} expects {expected.ms:g} ms but {remaining * 1000.0:.0f} ms remain"
        if run.cost_cap is not None and run.cost + expected.usd > run.cost_cap + 1e-12:
            return (
                f"{node.label} may cost ${expected.usd:g}, over the cost cap of ${run.cost_cap:g}"
                f" (spent ${run.cost:g})"
            )
        return ""

    def _degrade(self, node: Node, reason: str, run: Run) -> None:
        """Record that `node` was skipped for a cheaper answer."""
        run.stages.append(
            StageRun(stage=node.label, status=StageRun.STATUS_DEGRADED, detail=reason)
        )
        run.path.append(f"degraded:{node.label}")
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("tutti.degraded", reason)

    # -- stages --------------------------------------------------------------

    def _record(
        self,
        run: Run,
        spec: StageSpec,
        started: float,
        status: router_pb2.StageRun.Status,
        **fields: Any,
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000.0
        over_budget = bool(spec.budget_ms) and latency_ms > spec.budget_ms
        record = StageRun(
            stage=spec.name,
            status=status,
            latency_ms=latency_ms,
            budget_ms=spec.budget_ms,
            over_budget=over_budget,
            **fields,
        )
        run.stages.append(record)
        labels = self._labels.get((spec.name, status))
        if labels is None:
            labels = {"tutti.stage": spec.name, "tutti.status": _STATUS_NAMES[status]}
            self._labels[(spec.name, status)] = labels
        self.instruments.stage_duration.record(latency_ms, labels)
        if record.cost_usd:
            self.instruments.stage_cost.add(record.cost_usd, {"tutti.stage": spec.name})
        if not self._tracing:
            return
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(
                {
                    "tutti.stage": spec.name,
                    "tutti.budget_ms": spec.budget_ms,
                    "tutti.elapsed_ms": latency_ms,
                    "tutti.over_budget": over_budget,
                    "tutti.cost_usd": record.cost_usd,
                    "tutti.cache_hit": record.cache_hit,
                    "gen_ai.request.model": record.model,
                    "tutti.status": _STATUS_NAMES[status],
                }
            )

    def _timeout(self, spec: StageSpec, run: Run) -> float | None:
        remaining = run.remaining()
        if remaining is not None and remaining <= 0:
            run.stages.append(
                StageRun(
                    stage=spec.name,
                    status=StageRun.STATUS_DEADLINE_EXCEEDED,
                    budget_ms=spec.budget_ms,
                    detail="no time left before the call",
                )
            )
            raise StageDeadlineError(
                spec.name, "the request's deadline passed before this stage ran"
            )
        price = self._prices[spec.name]
        if run.cost_cap is not None and run.cost + price.per_call_usd > run.cost_cap + 1e-12:
            raise CostCapError(
                f"stage '{spec.name}' costs ${price.per_call_usd:g} a call, which would take the"
                f" request past its cost cap of ${run.cost_cap:g} (spent ${run.cost:g})"
            )
        return remaining

    def _failed(
        self, spec: StageSpec, run: Run, started: float, exc: aio.AioRpcError
    ) -> StageError:
        code = exc.code()
        # A stage's own words reach the client only in part: it may not be a Tutti service.
        details = (exc.details() or code.name)[:200]
        remaining = run.remaining()
        out_of_time = remaining is not None and remaining <= 0
        if code is grpc.StatusCode.DEADLINE_EXCEEDED or (
            code is grpc.StatusCode.CANCELLED and out_of_time
        ):
            self._record(run, spec, started, StageRun.STATUS_DEADLINE_EXCEEDED, detail=details)
            return StageDeadlineError(spec.name, f"no answer within the deadline ({details})")
        self._record(run, spec, started, StageRun.STATUS_FAILED, detail=f"{code.name}: {details}")
        log.warning("stage '%s' failed: %s: %s", spec.name, code.name, exc.details())
        # Codes that would mean something else coming from the router become UNAVAILABLE.
        passed = code if code in _PASSED_THROUGH else grpc.StatusCode.UNAVAILABLE
        return StageCallError(
            spec.name, passed, f"{code.name}: {details}" if passed is not code else details
        )

    def _check_output(
        self,
        spec: StageSpec,
        expected: str,
        output: any_pb2.Any,
        run: Run,
        started: float,
        **fields: Any,
    ) -> message.Message | None:
        """Decode and validate an output when the stage asks for validation."""
        try:
            actual = type_name_of(output)
            if actual != expected:
                raise OutputValidationError(
                    spec.name, "@type", f"holds {actual or 'nothing'}; expected {expected}"
                )
            if not spec.validate:
                return None
            try:
                decoded = self._classes[expected].FromString(output.value)
            except message.DecodeError as exc:
                raise OutputValidationError(
                    spec.name, "@value", f"is not a valid {expected}"
                ) from exc
            validate_output(spec.name, decoded)
            return decoded
        except OutputValidationError as exc:
            self._record(
                run, spec, started, StageRun.STATUS_INVALID_OUTPUT, detail=str(exc), **fields
            )
            raise

    async def _stage(self, node: StageNode, payload: any_pb2.Any, run: Run) -> Result:
        spec = node.stage
        key = ""
        version = self.profiles[spec.name].version
        # An unknown model version cannot key a cache: another model's answers could match.
        if self.caches is not None and spec.name in self.caches and version and not run.no_cache:
            key = cache_key(
                f"{self.composition.name}/{spec.name}/{node.output_type}",
                version,
                payload.type_url,
                payload.value,
            )
            started = time.perf_counter()
            hit = self._cached(await self.caches.get(spec.name, key), node.output_type)
            if hit is not None:
                self.instruments.cache_hits.add(1, {"tutti.stage": spec.name})
                # Only validated outputs are stored, and a hit costs nothing.
                self._record(
                    run,
                    spec,
                    started,
                    StageRun.STATUS_OK,
                    model=hit.model.name,
                    model_version=hit.model.version,
                    cache_hit=True,
                )
                return Result(hit.output)
            self.instruments.cache_misses.add(1, {"tutti.stage": spec.name})
        timeout = self._timeout(spec, run)
        circuit = self._admit(spec, run)
        started = time.perf_counter()
        request = stage_pb2.InvokeRequest(input=payload, stage=spec.name)
        try:
            if run.deltas is not None and id(node) in self._answering:
                response = await self._streamed(spec, request, timeout, run.deltas)
            elif spec.hedge is None:
                response = await self._invoke[spec.name](request, timeout=timeout)
            else:
                response = await self._hedged(spec, request, timeout)
        except aio.AioRpcError as exc:
            if circuit is not None:
                circuit.record(exc.code() not in FAILURE_CODES)
            raise self._failed(spec, run, started, exc) from None
        except asyncio.CancelledError:
            if circuit is not None:
                circuit.abandon()  # a cancelled probe says nothing about the stage
            raise
        except StageCallError as exc:  # a stream that ended without its response
            if circuit is not None:
                circuit.record(False)
            self._record(run, spec, started, StageRun.STATUS_FAILED, detail=str(exc))
            raise
        if circuit is not None:
            circuit.record(True)
        usage = response.usage
        span = trace.get_current_span() if self._tracing else None
        if span is not None and span.is_recording():
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage.input_tokens,
                    "gen_ai.usage.output_tokens": usage.output_tokens,
                    "gen_ai.response.model": response.model.name,
                }
            )
        price = self._prices[spec.name]
        cost = (
            price.cost_usd(usage.input_tokens, usage.output_tokens)
            if spec.price
            else usage.cost_usd
        )
        fields = {
            "compute_ms": usage.compute_ms,
            "model": response.model.name,
            "model_version": response.model.version,
            "cost_usd": cost,
            "cache_hit": usage.cache_hit,
        }
        run.cost += cost
        decoded = self._check_output(
            spec, node.output_type, response.output, run, started, **fields
        )
        self._record(run, spec, started, StageRun.STATUS_OK, **fields)
        self._check_spent(spec.name, run)
        if key and self.caches is not None:
            # Errors never get here: only a valid answer is cached. Storing it is not
            # the caller's wait, so it happens beside the request.
            self._store(spec.name, key, response.SerializeToString())
        return Result(response.output, decoded)

    async def _streamed(
        self,
        spec: StageSpec,
        request: stage_pb2.InvokeRequest,
        timeout: float | None,
        deltas: Callable[[str], None],
    ) -> stage_pb2.InvokeResponse:
        """InvokeStream: each delta to `deltas`, then the response (no hedging: one stream).

        A stage that does not implement InvokeStream is called with Invoke.
        """
        streamed = stage_pb2.InvokeStreamRequest(input=request.input, stage=request.stage)
        call = self._invoke_stream[spec.name](streamed, timeout=timeout)
        response: stage_pb2.InvokeResponse | None = None
        try:
            # Read to the stream's end (the response is last), which also ends its client span.
            async for event in call:
                if event.HasField("response"):
                    response = event.response
                elif response is None:
                    deltas(event.delta)
        except aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.UNIMPLEMENTED:
                raise
            return await self._invoke[spec.name](request, timeout=timeout)
        finally:
            call.cancel()
        if response is None:
            raise StageCallError(
                spec.name, grpc.StatusCode.UNAVAILABLE, "InvokeStream ended without a response"
            )
        return response

    def _admit(self, spec: StageSpec, run: Run) -> Circuit | None:
        """The stage's circuit, after checking that it lets this call through."""
        circuit = self.circuits.get(spec.name)
        if circuit is None or circuit.allow():
            return circuit
        detail = f"circuit open; next probe in {circuit.retry_in_s():.1f} s"
        run.stages.append(
            StageRun(
                stage=spec.name,
                status=StageRun.STATUS_FAILED,
                budget_ms=spec.budget_ms,
                detail=detail,
            )
        )
        self.instruments.circuit_rejections.add(1, {"tutti.stage": spec.name})
        raise StageCallError(spec.name, grpc.StatusCode.UNAVAILABLE, detail)

    async def _hedged(
        self, spec: StageSpec, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        """Send the call; while no answer came, another copy every `delay_ms`, up to `attempts`.

        The first success wins and the others are cancelled; if every copy
        fails, the last failure is raised. (grpc's C core has no hedging.)
        """
        assert spec.hedge is not None
        invoke = self._invoke[spec.name]
        delay = spec.hedge.delay_ms / 1000.0
        calls: list[asyncio.Future[stage_pb2.InvokeResponse]] = []
        rpcs: list[Any] = []  # the grpc calls, cancelled as RPCs (a wrapping task may not be)
        failure: aio.AioRpcError | None = None
        try:
            while True:
                if len(calls) < spec.hedge.attempts:
                    rpcs.append(invoke(request, timeout=timeout))
                    calls.append(asyncio.ensure_future(rpcs[-1]))
                pending = [c for c in calls if not c.done()]
                wait = delay if len(calls) < spec.hedge.attempts else None
                if pending:
                    await asyncio.wait(pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for call in calls:
                    if call.done() and not call.cancelled():
                        exc = call.exception()
                        if exc is None:
                            if len(calls) > 1:
                                self.instruments.hedges.add(1, {"tutti.stage": spec.name})
                            return call.result()
                        if not isinstance(exc, aio.AioRpcError):
                            raise exc
                        failure = exc
                if len(calls) >= spec.hedge.attempts and all(c.done() for c in calls):
                    assert failure is not None
                    raise failure
        finally:
            for rpc in rpcs:
                rpc.cancel()
            for call in calls:
                call.cancel()

    def _cached(self, value: bytes | None, output_type: str) -> stage_pb2.InvokeResponse | None:
        """A cache entry as a response, or None when there is none or it is not of this stage's type."""
        if value is None:
            return None
        try:
            hit = stage_pb2.InvokeResponse.FromString(value)
        except message.DecodeError:
            return None
        return hit if type_name_of(hit.output) == output_type else None

    def _store(self, stage: str, key: str, value: bytes) -> None:
        assert self.caches is not None
        task = asyncio.ensure_future(self.caches.put(stage, key, value))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def close(self) -> None:
        """Finish the cache writes in flight and close the cache."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self.caches is not None:
            await self.caches.close()

    def _check_spent(self, stage: str, run: Run) -> None:
        """Fail loudly when a stage's reported usage took the request past its cap."""
        if run.cost_cap is not None and run.cost > run.cost_cap + 1e-12:
            raise CostCapError(
                f"stage '{stage}' took the request to ${run.cost:g}, past its cost cap of"
                f" ${run.cost_cap:g}"
            )

    # -- flow ----------------------------------------------------------------

    async def _sequence(self, node: SequenceNode, payload: any_pb2.Any, run: Run) -> Result:
        result = Result(payload)
        for step in node.steps:
            result = await self._node(step, result.payload, run)
        return result

    def _decoded(self, result: Result, type_name: str, producer: str) -> message.Message:
        """The result's message, decoded once; `producer` names the node it came from."""
        if result.decoded is None:
            try:
                result.decoded = self._classes[type_name].FromString(result.payload.value)
            except message.DecodeError as exc:
                raise OutputValidationError(
                    producer, "@value", f"is not a valid {type_name}"
                ) from exc
        return result.decoded

    async def _route(self, node: RouteNode, payload: any_pb2.Any, run: Run) -> Result:
        decision = self._decoded(
            await self._node(node.by, payload, run), node.by.output_type, node.by.label
        )
        assert isinstance(decision, payloads_pb2.Classification)
        target = node.case(decision.label)
        for escalation in node.escalations:
            if decision.confidence < escalation.below:
                reason = self._fits(escalation.to, run)
                if reason:
                    self._degrade(escalation.to, reason, run)
                    break
                run.path.append(
                    f"{node.label}={decision.label}@{decision.confidence:.2f}"
                    f"<{escalation.below:g}->escalate:{escalation.to.label}"
                )
                target = escalation.to
                break
        else:
            run.path.append(f"{node.label}={decision.label}->{target.label}")
        self.instruments.route_cases.add(
            1, {"tutti.node": node.label, "tutti.route.case": target.label}
        )
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("tutti.route.case", target.label)
        return await self._node(target, payload, run)

    def confidence(self, result: Result, type_name: str, path: str, producer: str) -> float:
        found: Any = self._decoded(result, type_name, producer)
        for part in path.split(".") if path else ():
            found = getattr(found, part)
        return float(found.confidence)

    async def _cascade(self, node: CascadeNode, payload: any_pb2.Any, run: Run) -> Result:
        last = len(node.steps) - 1
        answer: Result | None = None  # the best answer so far, kept if the next step cannot fit
        for index, step in enumerate(node.steps):
            if answer is not None:
                reason = self._fits(step, run)
                if reason:
                    self._degrade(step, reason, run)
                    return answer
            if index == last:
                run.path.append(f"cascade->{step.label}")
                return await self._node(step, payload, run)
            try:
                result = await self._node(step, payload, run)
            except (OutputValidationError, StageCallError) as exc:
                run.path.append(f"cascade:{step.label} failed ({exc.code.name})")
                continue
            confidence = self.confidence(result, node.output_type, node.field, step.label)
            if confidence >= node.below:
                run.path.append(f"cascade->{step.label}@{confidence:.2f}")
                return result
            run.path.append(f"cascade:{step.label}@{confidence:.2f}<{node.below:g}")
            answer = result
        raise AssertionError("unreachable: the last cascade step returns or raises")

    async def _escalate(self, node: EscalateNode, payload: any_pb2.Any, run: Run) -> Result:
        result = await self._node(node.source, payload, run)
        confidence = self.confidence(result, node.output_type, node.field, node.source.label)
        for tier in node.tiers:
            if confidence < tier.below:
                reason = self._fits(tier.to, run)
                if reason:
                    self._degrade(tier.to, reason, run)
                    return result
                run.path.append(f"escalate@{confidence:.2f}<{tier.below:g}->{tier.to.label}")
                return await self._node(tier.to, payload, run)
        return result

    async def _fanout(self, node: FanoutNode, payload: any_pb2.Any, run: Run) -> Result:
        # Branches run at once, so each one's own check cannot see what the others spend.
        expected = self._expected[id(node)]
        if run.cost_cap is not None and run.cost + expected.usd > run.cost_cap + 1e-12:
            raise CostCapError(
                f"{node.label} may cost ${expected.usd:g}, which would take the request past"
                f" its cost cap of ${run.cost_cap:g} (spent ${run.cost:g})"
            )
        tasks = {
            asyncio.ensure_future(self._node(branch, payload, run)): name
            for branch, name in zip(node.branches, node.names)
        }
        answered: dict[str, Result] = {}
        failed: dict[str, BaseException] = {}
        remaining = run.remaining()
        if remaining is not None:
            # Leave the merger its time, so that what arrived can still be merged.
            remaining = max(0.0, remaining - self.profiles[node.merger.name].expected_ms / 1000.0)
        limits = [
            t
            for t in (node.budget_ms / 1000.0 if node.budget_ms else None, remaining)
            if t is not None
        ]
        end = time.monotonic() + min(limits) if limits else None
        pending = set(tasks)
        try:
            while pending and len(answered) + len(pending) >= node.quorum:
                wait = None if end is None else end - time.monotonic()
                if wait is not None and wait <= 0:
                    break
                done, pending = await asyncio.wait(
                    pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        answered[tasks[task]] = task.result()
                    elif isinstance(exc, TuttiError):
                        failed[tasks[task]] = exc
                    else:
                        raise exc  # a bug, not a branch that failed: let the interceptor log it
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        late = [tasks[t] for t in pending]
        if late:
            run.path.append(f"fanout:late {','.join(late)}")
        if failed:
            run.path.append(f"fanout:failed {','.join(failed)}")
        if len(answered) < node.quorum:
            missing = [name for name in node.names if name not in answered]
            code = grpc.StatusCode.DEADLINE_EXCEEDED if late else grpc.StatusCode.UNAVAILABLE
            raise FanoutQuorumError(node.label, missing, code)
        return await self._merge_results(
            node, [(n, answered[n]) for n in node.names if n in answered], run
        )

    async def _merge_results(
        self, node: FanoutNode, answers: list[tuple[str, Result]], run: Run
    ) -> Result:
        spec = node.merger
        timeout = self._timeout(spec, run)
        request = merger_pb2.MergeRequest(
            candidates=[merger_pb2.Candidate(name=name, output=r.payload) for name, r in answers],
            strategy=node.strategy,
            field=node.field,
            weights=dict(node.weights),
        )
        started = time.perf_counter()
        try:
            response = await self._merge[spec.name](request, timeout=timeout)
        except aio.AioRpcError as exc:
            raise self._failed(spec, run, started, exc) from None
        cost = self._prices[spec.name].per_call_usd
        run.cost += cost
        decoded = self._check_output(
            spec, node.output_type, response.output, run, started, cost_usd=cost
        )
        self._record(
            run,
            spec,
            started,
            StageRun.STATUS_OK,
            cost_usd=cost,
            detail=f"winners: {','.join(response.winners)}",
        )
        self._check_spent(spec.name, run)
        run.path.append(f"fanout:merged {','.join(n for n, _ in answers)}")
        return Result(response.output, decoded)

    async def _fallback(self, node: FallbackNode, payload: any_pb2.Any, run: Run) -> Result:
        """The first step's answer; when it fails (an error, its deadline, an open circuit,
        an invalid output, a fan-out short of quorum), the next step's."""
        last = len(node.steps) - 1
        for index, step in enumerate(node.steps):
            if index == last:
                return await self._node(step, payload, run)
            try:
                return await self._node(step, payload, run)
            except (StageError, FanoutQuorumError) as exc:
                run.path.append(
                    f"fallback:{step.label} failed ({exc.code.name})->{node.steps[index + 1].label}"
                )
        raise AssertionError("unreachable: the last fallback step returns or raises")

    async def _split(self, node: SplitNode, payload: any_pb2.Any, run: Run) -> Result:
        branch = node.branches[bisect.bisect_right(node.cumulative, self.rng.random())]
        run.path.append(f"split->{branch.label}")
        return await self._node(branch, payload, run)
