"""Faults with real processes on loopback and a bounded load: nothing is lost, nothing is duplicated.

Each test prints what it measured (error rate, p99) for the record; the
assertions are on accounting and status codes, not on timings, except for
a loose relative bound on the overload's admitted latency.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc import aio

from tests.conftest import write_echo_composition
from tests.router_service.test_flow_nodes import output_text, text_request
from tests.router_service.waiting import until
from tests.serve_process import ServeProcess
from tests.stages import calls_started
from tutti.v1 import router_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service(ServeProcess):
    """One `tutti serve` process, ready when constructed."""

    def __init__(self, *argv: str) -> None:
        super().__init__(*argv)
        self.ready()


def specialist(
    tmp_path: Path, name: str, factory: str, options: str = "{}", port: int = 0
) -> Service:
    config = tmp_path / f"{name}.yaml"
    module = "tests.stages" if ":" not in factory else factory.split(":")[0]
    function = factory.rsplit(":", 1)[-1]
    config.write_text(
        f'stage: echo\nbackend: python\nfactory: "{module}:{function}"\noptions: {options}\n'
    )
    return Service("specialist", "--config", str(config), "--port", str(port), "--grace", "10")


def router(tmp_path: Path, endpoint: str, *flags: str) -> Service:
    path = write_echo_composition(tmp_path / "composition.yaml", endpoint)
    return Service("router", "--config", str(path), *flags)


@dataclass
class Outcomes:
    latency_ms: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    failed: dict[str, tuple[grpc.StatusCode, str]] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)

    async def call(self, stub: router_pb2_grpc.RouterServiceStub, rid: str) -> None:
        started = time.perf_counter()
        self.sent_at[rid] = time.monotonic()
        try:
            response = await stub.Route(text_request(rid), timeout=10)
        except aio.AioRpcError as exc:
            self.failed[rid] = (exc.code(), exc.details() or "")
        else:
            (self.answered if output_text(response) == rid else self.wrong).append(rid)
        self.latency_ms[rid] = (time.perf_counter() - started) * 1000.0


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


async def test_killing_one_of_two_replicas_under_load_loses_no_request(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    replicas = [specialist(tmp_path, f"r{i}", "echo", port=p) for i, p in enumerate(ports)]
    front = router(tmp_path, f"[127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}]")
    channel = aio.insecure_channel(front.address)
    stub = router_pb2_grpc.RouterServiceStub(channel)
    outcomes = Outcomes()
    counter = iter(range(100_000))
    finished = asyncio.Event()

    async def worker() -> None:
        while not finished.is_set():
            await outcomes.call(stub, f"req-{next(counter)}")

    def answered_since(moment: float) -> int:
        return sum(1 for r in outcomes.answered if outcomes.sent_at[r] >= moment)

    async def fault() -> tuple[float, float]:
        try:
            await until(lambda: len(outcomes.answered) >= 100)  # the load is flowing
            killed = time.monotonic()
            replicas[0].process.kill()  # kill -9, mid-run
            replicas[0].process.wait()
            await until(lambda: answered_since(killed) >= 100)  # served on one replica a while
            replicas[0].stop()
            replicas[0] = await asyncio.to_thread(
                specialist, tmp_path, "r0", "echo", "{}", ports[0]
            )
            restarted = time.monotonic()
            await until(lambda: answered_since(restarted) >= 100)  # and on both again
            return killed, restarted
        finally:
            finished.set()  # the workers stop, whatever happened

    try:
        *_, (killed, restarted) = await asyncio.gather(*(worker() for _ in range(8)), fault())
    finally:
        await channel.close()
        front.stop()
        for replica in replicas:
            replica.stop()
    sent = len(outcomes.sent_at)
    accounted = len(outcomes.answered) + len(outcomes.failed) + len(outcomes.wrong)
    during = [
        outcomes.latency_ms[r] for r, t in outcomes.sent_at.items() if killed <= t <= restarted
    ]
    print(
        f"\nfault: {sent} sent, {len(outcomes.answered)} answered, {len(outcomes.failed)} failed"
        f" ({len(outcomes.failed) / sent:.2%}); p99 during the fault {p99(during):.1f} ms,"
        f" overall {p99(list(outcomes.latency_ms.values())):.1f} ms"
    )
    assert sent > 100
    assert accounted == sent  # none lost
    assert outcomes.wrong == []  # none answered with another request's output
    assert len(set(outcomes.answered)) == len(outcomes.answered)  # none answered twice
    for code, details in outcomes.failed.values():
        assert "stage 'echo'" in details, (code, details)


async def test_sigterm_on_a_specialist_lets_every_call_in_flight_finish(tmp_path: Path) -> None:
    started = tmp_path / "started"
    stage = specialist(
        tmp_path,
        "slow",
        "tests.stages:slow",
        f"{{delay_ms: 800, started: '{started}'}}",
    )
    front = router(tmp_path, f'"{stage.address}"')
    channel = aio.insecure_channel(front.address)
    stub = router_pb2_grpc.RouterServiceStub(channel)
    outcomes = Outcomes()
    try:
        calls = [asyncio.ensure_future(outcomes.call(stub, f"drain-{i}")) for i in range(10)]
        await until(lambda: calls_started(started) == 10)  # all ten are inside the slow stage
        stage.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*calls)
        exit_code = await asyncio.to_thread(stage.process.wait, 15)
    finally:
        await channel.close()
        front.stop()
        stage.stop()
    assert sorted(outcomes.answered) == sorted(f"drain-{i}" for i in range(10))
    assert outcomes.failed == {}
    assert exit_code == 0


async def test_twice_the_capacity_is_shed_with_resource_exhausted_and_admitted_calls_stay_fast(
    tmp_path: Path,
) -> None:
    stage = specialist(tmp_path, "slow", "slow", "{delay_ms: 40}")
    front = router(tmp_path, f'"{stage.address}"', "--max-in-flight", "8")
    channel = aio.insecure_channel(front.address)
    stub = router_pb2_grpc.RouterServiceStub(channel)
    try:
        # Capacity: 8 callers, one call each at a time, for a second.
        measured = Outcomes()
        counter = iter(range(100_000))
        end = time.monotonic() + 1.0

        async def closed_loop() -> None:
            while time.monotonic() < end:
                await measured.call(stub, f"c-{next(counter)}")

        t0 = time.monotonic()
        await asyncio.gather(*(closed_loop() for _ in range(8)))
        capacity = len(measured.answered) / (time.monotonic() - t0)
        unloaded_p50 = statistics.median(measured.latency_ms.values())
        rss_before = front.rss_mb()

        # Twice that, open loop, for three seconds: calls go out on schedule whatever happens.
        offered = Outcomes()
        interval = 1.0 / (2 * capacity)
        calls = []
        start = time.monotonic()
        i = 0
        while (now := time.monotonic()) - start < 3.0:
            calls.append(asyncio.ensure_future(offered.call(stub, f"o-{i}")))
            i += 1
            await asyncio.sleep(max(0.0, start + i * interval - now))
        await asyncio.gather(*calls)
        rss_after = front.rss_mb()
    finally:
        await channel.close()
        front.stop()
        stage.stop()
    shed = [d for c, d in offered.failed.values() if c == grpc.StatusCode.RESOURCE_EXHAUSTED]
    other = {
        rid: f for rid, f in offered.failed.items() if f[0] != grpc.StatusCode.RESOURCE_EXHAUSTED
    }
    admitted = [offered.latency_ms[r] for r in offered.answered]
    print(
        f"\noverload: capacity {capacity:.0f} req/s, offered {len(calls) / 3.0:.0f} req/s;"
        f" {len(offered.answered)} admitted, {len(shed)} shed; admitted p50"
        f" {statistics.median(admitted):.1f} ms p99 {p99(admitted):.1f} ms (unloaded p50"
        f" {unloaded_p50:.1f} ms); router RSS {rss_before:.0f} -> {rss_after:.0f} MB"
    )
    assert len(offered.answered) + len(offered.failed) == len(calls)
    assert other == {}
    assert offered.wrong == []
    assert len(shed) > len(calls) // 10  # a real share was shed, at once rather than queued
    # Bounded by the in-flight limit, not by the length of a queue: loose on purpose.
    assert p99(admitted) < 25 * unloaded_p50
    assert rss_after < rss_before + 50
