"""One stage call (the `stage` node's coroutine, and a fan-out's merge call).

It checks the cache and the budget, passes the circuit, hedges or streams, maps the
status and records the StageRun.

How a call can fail, and what the request sees:
- no time left, or its price passes the cap: DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED
  before anything is sent (`Budgets.before_call`);
- its circuit is open: UNAVAILABLE, "circuit open", without reaching the stage;
- the stage answers an error: DEADLINE_EXCEEDED for a missed deadline, its own code
  when it is one a client may see (`PASSED_THROUGH`), else UNAVAILABLE;
- an output of the wrong type or failing its constraints: INVALID_OUTPUT, named field;
- usage that took the request past its cap: RESOURCE_EXHAUSTED after the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import grpc
from google.protobuf import any_pb2, message
from opentelemetry import trace

from router_service._telemetry import RouterInstruments
from router_service.cache import StageCaches, cache_key
from router_service.engine._budget import Budgets
from router_service.engine._call_hedge import hedged
from router_service.engine._call_record import StageRecords
from router_service.engine._circuit import FAILURE_CODES, Circuit
from router_service.engine._client import StageClient, StageClientError
from router_service.engine._decode import Payloads
from router_service.engine._run import Result, Run
from router_service.plan import FanoutNode, StageNode, StageProfile, StageSpec
from tutti.errors import OutputValidationError, StageCallError
from tutti.messages import type_name_of
from tutti.v1 import merger_pb2, router_pb2, stage_pb2

__all__ = ["StageCalls"]

StageRun = router_pb2.StageRun


class StageCalls:
    """The stage calls of one composition: its clients, caches, circuits and records."""

    def __init__(
        self,
        composition: str,
        clients: Mapping[str, StageClient],
        profiles: Mapping[str, StageProfile],
        circuits: Mapping[str, Circuit],
        budget: Budgets,
        payloads: Payloads,
        instruments: RouterInstruments,
        tracing: bool,
        answering: frozenset[int],
        caches: StageCaches | None = None,
    ) -> None:
        self._composition = composition
        self._clients = clients
        self._profiles = profiles
        self.circuits = circuits
        self._budget = budget
        self._payloads = payloads
        self._instruments = instruments
        self._records = StageRecords(instruments, tracing)
        self._tracing = tracing
        self._answering = answering
        self.caches = caches
        self._writes: set[asyncio.Future[None]] = set()

    async def stage(self, node: StageNode, payload: any_pb2.Any, run: Run) -> Result:
        """Call the node's stage with `payload` (or answer from its cache)."""
        spec = node.stage
        key = self._key(node, payload, run)
        if key:
            started = time.perf_counter()
            hit = await self._cached(spec.name, key, node.output_type)
            if hit is not None:
                self._instruments.cache_hits.add(1, {"tutti.stage": spec.name})
                # Only validated outputs are stored, and a hit costs nothing.
                self._records.record(
                    run,
                    spec,
                    started,
                    StageRun.STATUS_OK,
                    model=hit.model.name,
                    model_version=hit.model.version,
                    cache_hit=True,
                )
                return Result(hit.output)
            self._instruments.cache_misses.add(1, {"tutti.stage": spec.name})
        timeout = self._budget.before_call(spec, run)
        circuit = self._admit(spec, run)
        started = time.perf_counter()
        request = stage_pb2.InvokeRequest(input=payload, stage=spec.name)
        client = self._clients[spec.name]
        try:
            if run.deltas is not None and id(node) in self._answering:
                response = await self._streamed(spec, client, request, timeout, run.deltas)
            elif spec.hedge is None:
                response = await client.invoke(request, timeout)
            else:
                response = await hedged(
                    client,
                    spec.hedge,
                    request,
                    timeout,
                    lambda: self._instruments.hedges.add(1, {"tutti.stage": spec.name}),
                )
        except StageClientError as exc:
            if circuit is not None:
                circuit.record(exc.code not in FAILURE_CODES)
            raise self._records.failed(spec, run, started, exc) from None
        except asyncio.CancelledError:
            if circuit is not None:
                circuit.abandon()  # a cancelled probe says nothing about the stage
            raise
        except StageCallError as exc:  # a stream that ended without its response
            if circuit is not None:
                circuit.record(False)
            self._records.record(run, spec, started, StageRun.STATUS_FAILED, detail=str(exc))
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
        cost = self._budget.charge(spec, run, usage)
        fields = {
            "compute_ms": usage.compute_ms,
            "model": response.model.name,
            "model_version": response.model.version,
            "cost_usd": cost,
            "cache_hit": usage.cache_hit,
        }
        decoded = self._validated(spec, node.output_type, response.output, run, started, fields)
        self._records.record(run, spec, started, StageRun.STATUS_OK, **fields)
        self._budget.after_call(spec, run)
        if key:
            # Errors never get here: only a valid answer is cached. Storing it is not
            # the caller's wait, so it happens beside the request.
            self._store(spec.name, key, response.SerializeToString())
        return Result(response.output, decoded)

    async def merge(self, node: FanoutNode, answers: list[tuple[str, Result]], run: Run) -> Result:
        """Hand a fan-out's answers to its merger."""
        spec = node.merger
        timeout = self._budget.before_call(spec, run)
        request = merger_pb2.MergeRequest(
            candidates=[merger_pb2.Candidate(name=name, output=r.payload) for name, r in answers],
            strategy=node.strategy,
            field=node.field,
            weights=dict(node.weights),
        )
        started = time.perf_counter()
        try:
            response = await self._clients[spec.name].merge(request, timeout)
        except StageClientError as exc:
            raise self._records.failed(spec, run, started, exc) from None
        cost = self._budget.charge(spec, run)
        decoded = self._validated(
            spec, node.output_type, response.output, run, started, {"cost_usd": cost}
        )
        self._records.record(
            run,
            spec,
            started,
            StageRun.STATUS_OK,
            cost_usd=cost,
            detail=f"winners: {','.join(response.winners)}",
        )
        self._budget.after_call(spec, run)
        run.path.append(f"fanout:merged {','.join(n for n, _ in answers)}")
        return Result(response.output, decoded)

    def _validated(
        self,
        spec: StageSpec,
        expected: str,
        output: any_pb2.Any,
        run: Run,
        started: float,
        fields: Mapping[str, object],
    ) -> message.Message | None:
        try:
            return self._payloads.validated(spec, expected, output)
        except OutputValidationError as exc:
            self._records.record(
                run, spec, started, StageRun.STATUS_INVALID_OUTPUT, detail=str(exc), **fields
            )
            raise

    async def _streamed(
        self,
        spec: StageSpec,
        client: StageClient,
        request: stage_pb2.InvokeRequest,
        timeout: float | None,
        deltas: Callable[[str], None],
    ) -> stage_pb2.InvokeResponse:
        """InvokeStream: each delta to `deltas`, then the response (no hedging: one stream).

        A stage that does not implement InvokeStream is called with Invoke.
        """
        streamed = stage_pb2.InvokeStreamRequest(input=request.input, stage=request.stage)
        response: stage_pb2.InvokeResponse | None = None
        try:
            # Read to the stream's end (the response is last), which also ends its client span.
            async with contextlib.aclosing(client.invoke_stream(streamed, timeout)) as events:
                async for event in events:
                    if event.HasField("response"):
                        response = event.response
                    elif response is None:
                        deltas(event.delta)
        except StageClientError as exc:
            if exc.code is not grpc.StatusCode.UNIMPLEMENTED:
                raise
            return await client.invoke(request, timeout)
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
        self._instruments.circuit_rejections.add(1, {"tutti.stage": spec.name})
        raise StageCallError(spec.name, grpc.StatusCode.UNAVAILABLE, detail)

    # -- cache -----------------------------------------------------------------

    def _key(self, node: StageNode, payload: any_pb2.Any, run: Run) -> str:
        """The call's cache key; "" when this call is not cached."""
        spec = node.stage
        version = self._profiles[spec.name].version
        # An unknown model version cannot key a cache: another model's answers could match.
        if self.caches is None or spec.name not in self.caches or not version or run.no_cache:
            return ""
        return cache_key(
            f"{self._composition}/{spec.name}/{node.output_type}",
            version,
            payload.type_url,
            payload.value,
        )

    async def _cached(
        self, stage: str, key: str, output_type: str
    ) -> stage_pb2.InvokeResponse | None:
        """A cache entry as a response, or None when there is none or it is not of this stage's type."""
        assert self.caches is not None
        value = await self.caches.get(stage, key)
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

    async def flush(self) -> None:
        """Wait for the cache writes in flight."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def close(self) -> None:
        """Finish the cache writes in flight and close the cache."""
        await self.flush()
        if self.caches is not None:
            await self.caches.close()
