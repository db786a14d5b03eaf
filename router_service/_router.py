"""The router: loads compositions, learns stage types from Describe, and routes requests."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from router_service._describe import describe_stages
from router_service.cache import build_caches
from router_service.composition import apply_endpoints, compile_composition, read_composition
from router_service.engine import (
    Engine,
    Run,
    StageClient,
    grpc_clients,
    request_cost_cap,
    request_deadline,
)
from router_service.plan import StageSpec
from tutti.channels import ChannelPool
from tutti.errors import ConfigError, NotFoundError, Problem, TuttiError, echoed
from tutti.messages import MessageTypes, validate_input
from tutti.v1 import router_pb2

__all__ = ["Router"]

log = logging.getLogger("tutti.router")
# How long a replaced plan (or channel) stays open for the calls that started on it.
RETIRE_GRACE_S = 30.0


class Router:
    """Serves one or more compositions; plain Python, no servicer in sight."""

    def __init__(
        self,
        engines: Mapping[str, Engine],
        types: MessageTypes,
        channels: ChannelPool,
        clients: Callable[[StageSpec], StageClient] | None = None,
    ) -> None:
        self.engines = dict(engines)
        self.types = types
        self.channels = channels
        # How each stage is reached: over gRPC on the pool's channels unless told otherwise.
        self.clients = clients or grpc_clients(channels)
        # What each file was loaded as, for hot reload: path -> (composition name, content hash).
        self.sources: dict[str, tuple[str, str]] = {}
        self.endpoints: Mapping[str, str] = {}
        self.describe = True
        self._watcher: asyncio.Task[None] | None = None
        # Sleeping closers of replaced plans and channels, each with what it will close.
        self._retiring: dict[asyncio.Future[None], Callable[[], Awaitable[None]]] = {}

    @classmethod
    async def load(
        cls,
        paths: Sequence[str | Path],
        endpoints: Mapping[str, str] | None = None,
        channels: ChannelPool | None = None,
        describe: bool = True,
        clients: Callable[[StageSpec], StageClient] | None = None,
    ) -> Router:
        """Read, describe and compile every composition; raise CompositionError on any problem.

        `endpoints` overrides stage endpoints by stage name (as `tutti up` does);
        `clients` gives each stage's StageClient (such as FakeStages, with
        `describe=False`) instead of a gRPC client on `channels`.
        """
        channels = channels or ChannelPool()
        router = cls({}, MessageTypes(), channels, clients)
        router.endpoints = dict(endpoints or {})
        router.describe = describe
        try:
            for path in paths:
                digest = _digest(path)
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
                router.sources[str(path)] = (name, digest)
        except BaseException:
            await router.close()
            raise
        return router

    async def _load_one(
        self, path: str | Path, endpoints: Mapping[str, str], describe: bool
    ) -> Engine:
        # Reading and compiling run in a thread: a large or hostile file (refused or not)
        # must not hold up the requests this loop is serving meanwhile.
        draft = await asyncio.to_thread(read_composition, path)
        # A stage `tutti up` starts may leave its endpoint to --endpoint; one with none fails here.
        stages, missing = apply_endpoints(draft.source, draft.stages, endpoints, draft.problems)
        draft = dataclasses.replace(draft, stages=stages, problems=(*draft.problems, *missing))
        described = await describe_stages(draft, self.channels, self.types) if describe else {}
        composition = await asyncio.to_thread(
            compile_composition,
            draft,
            {n: (d.input_type, d.output_type) for n, d in described.items()},
            self.types,
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
        return Engine(composition, self.clients, self.types, cards, caches=caches)

    def composition(self, name: str) -> Engine:
        engine = self.engines.get(name)
        if engine is None:
            served = ", ".join(sorted(self.engines)) or "none"
            raise NotFoundError(
                f"composition '{echoed(name)}' not found; this router serves: {served}"
            )
        return engine

    async def route(
        self,
        request: router_pb2.RouteRequest,
        time_remaining: float | None,
        deltas: Callable[[str], None] | None = None,
    ) -> router_pb2.RouteResponse:
        """Run one request; `deltas` receives the answering stage's text as it is generated."""
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
            deadline=request_deadline(composition.budget, time_remaining),
            cost_cap=request_cost_cap(composition.budget, request.options.max_cost_usd),
            no_cache=request.options.no_cache,
            stages=execution.stages,  # records go straight into the answer
            decisions=execution.decisions,
            deltas=deltas,
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

    # -- hot reload ------------------------------------------------------------

    def watch(self, every_s: float) -> None:
        """Look for changed composition (and TLS) files every `every_s` seconds, and reload them."""
        self._watcher = asyncio.ensure_future(self._watch(every_s))

    async def _watch(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.reload_changed()
            except Exception:  # the watcher must outlive any one failed reload
                log.exception("reloading compositions failed; still serving the old plans")

    async def reload_changed(self) -> tuple[str, ...]:
        """Reload every file whose content changed; return the paths whose new plan is serving.

        A changed file is read, described and type-checked first; only a plan
        that compiles replaces the running one, in one assignment, and calls
        in flight finish on the plan they started with. A file that fails is
        logged with all its problems and the old plan keeps serving.
        """
        renewed = self.channels.tls_changed()
        if renewed:
            log.info("TLS files changed: new channels to every stage")
            self.channels.renew()
        applied: list[str] = []
        for path, (old_name, old_digest) in list(self.sources.items()):
            try:
                digest = _digest(path)
            except ConfigError as exc:
                # Said once, not every tick; once readable again it differs, and reloads.
                unreadable = f"unreadable: {exc}"
                if old_digest != unreadable:
                    log.error("cannot reload %s: %s; still serving the old plan", path, exc)
                    self.sources[path] = (old_name, unreadable)
                continue
            if digest == old_digest and not renewed:
                continue
            try:
                engine = await self._load_one(path, self.endpoints, self.describe)
            except ConfigError as exc:
                log.error(
                    "%s changed but does not load; still serving the old plan of '%s':\n  %s",
                    path,
                    old_name,
                    "\n  ".join(str(p) for p in exc.problems),
                )
                self.sources[path] = (old_name, digest)  # reported once, not every poll
                continue
            name = engine.composition.name
            clash = [p for p, (n, _) in self.sources.items() if n == name and p != path]
            if clash:
                log.error(
                    "%s now names composition '%s', which %s already serves; not reloaded",
                    path,
                    name,
                    clash[0],
                )
                await engine.close()
                self.sources[path] = (old_name, digest)
                continue
            engines = dict(self.engines)
            old = engines.pop(old_name, None)
            engines[name] = engine
            self.engines = engines  # the swap: later calls see the new plan
            self.sources[path] = (name, digest)
            applied.append(path)
            log.info("reloaded composition '%s' from %s", name, path)
            if old is not None:
                self._retire(old.close)
        if renewed:
            self._retire(lambda: self.channels.close_retired(RETIRE_GRACE_S))
        return tuple(applied)

    def _retire(self, close: Callable[[], Awaitable[None]]) -> None:
        """Close an old engine or channels once calls still using them had time to finish."""

        async def later() -> None:
            await asyncio.sleep(RETIRE_GRACE_S)
            await close()

        task = asyncio.ensure_future(later())
        self._retiring[task] = close
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        retiring, self._retiring = dict(self._retiring), {}
        for task in retiring:
            task.cancel()
        await asyncio.gather(*retiring, return_exceptions=True)
        for task, close in retiring.items():
            if task.cancelled():  # still asleep: close what it was waiting to close
                await close()
        for engine in self.engines.values():
            await engine.close()
        await self.channels.close()


def _digest(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(Problem(str(path), 0, f"cannot read: {exc.strerror}")) from None
