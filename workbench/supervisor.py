"""Keep a mesh's services up: one that dies is started again on its port, with backoff."""

from __future__ import annotations

import queue
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.mesh import START_TIMEOUT_S, Child, ready_address, restart

__all__ = ["RestartPolicy", "Supervisor"]


@dataclass(frozen=True)
class RestartPolicy:
    """How soon a dead service is started again, and when to stop trying.

    The n-th failure in a row waits `first_delay_s * 2**(n-1)`, at most
    `max_delay_s`. A failure is a service that exits, or that does not
    serve within `start_timeout_s` of a restart; one that served for
    `stable_s` has its count of failures forgotten. After `max_failures`
    in a row the supervisor gives up.
    """

    first_delay_s: float = 0.5
    max_delay_s: float = 10.0
    max_failures: int = 5
    stable_s: float = 60.0
    start_timeout_s: float = START_TIMEOUT_S

    def delay_s(self, failures: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (failures - 1)))


@dataclass
class _Watch:
    child: Child
    started_at: float
    failures: int = 0
    down_since: float | None = None
    restart_at: float | None = None
    # Set while a restarted child has not yet said it serves.
    ready: queue.Queue[str | None] | None = None


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _to_stderr(line: str) -> None:
    print(f"tutti up: {line}", file=sys.stderr, flush=True)


class Supervisor:
    """Watches children; `tick()` does the next step of each one's restart, never blocking.

    The rest of the mesh keeps serving while one child is down: the router
    fails calls to a dead stage fast (its circuit breaker) and calls it
    again once it is back on the same address.
    """

    def __init__(
        self,
        children: Sequence[Child],
        env: dict[str, str],
        policy: RestartPolicy = RestartPolicy(),
        say: Callable[[str], None] = _to_stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env = env
        self.policy = policy
        self.say = say
        self.clock = clock
        now = clock()
        self._watches = [_Watch(child, started_at=now) for child in children]

    def tick(self) -> bool:
        """Check every child once; False once one has failed too often to try again."""
        now = self.clock()
        return all(self._step(watch, now) for watch in self._watches)

    def _step(self, watch: _Watch, now: float) -> bool:
        child = watch.child
        if watch.ready is not None:
            return self._starting(watch, now)
        if watch.restart_at is not None:
            if now >= watch.restart_at:
                watch.restart_at = None
                watch.started_at = now
                watch.ready = restart(child, self.env)
            return True
        code = child.process.poll()
        if code is None:
            return True
        watch.down_since = now
        return self._failed(watch, now, _exit_reason(code))

    def _starting(self, watch: _Watch, now: float) -> bool:
        assert watch.ready is not None
        try:
            line = watch.ready.get_nowait()
        except queue.Empty:
            if now - watch.started_at < self.policy.start_timeout_s:
                return True
            watch.child.process.kill()
            watch.child.process.wait()
            line = None
            reason = f"did not serve within {self.policy.start_timeout_s:g} s"
        else:
            reason = _exit_reason(watch.child.process.wait()) if line is None else ""
        watch.ready = None
        if line is None:
            return self._failed(watch, now, reason)
        address = ready_address(line)
        down = now - (watch.down_since if watch.down_since is not None else now)
        self.say(f"{watch.child.name} is serving again on {address} (down {down:.1f} s)")
        watch.down_since = None
        return True

    def _failed(self, watch: _Watch, now: float, reason: str) -> bool:
        if now - watch.started_at >= self.policy.stable_s:
            watch.failures = 0
        watch.failures += 1
        name, limit = watch.child.name, self.policy.max_failures
        if watch.failures > limit:
            self.say(f"{name} {reason}; it failed {limit} times in a row: giving up")
            return False
        delay = self.policy.delay_s(watch.failures)
        self.say(
            f"{name} {reason}; restarting it on {watch.child.address} in {delay:.1f} s "
            f"(attempt {watch.failures} of {limit})"
        )
        watch.restart_at = now + delay
        return True
