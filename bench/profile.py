"""`python -m bench.profile`: py-spy on every server process of one system under the throughput load.

    python -m bench.profile --system tutti+tracing --topology sequence --out /tmp/prof

Starts the system as `python -m bench` does, warms it up, then records each
server process with `py-spy record -f raw` (root is needed to attach) while
`--requests` go through at 64 in flight. Writes one `<process>.txt` of folded
stacks per process, and prints per process the functions with the most
samples, inclusive and own: where a variant's extra CPU per request goes.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import uvloop

from bench.load import throughput
from bench.systems import SYSTEMS, start
from bench.topologies import TOPOLOGIES

IN_FLIGHT = 64


def summary(folded: Path, top: int) -> list[str]:
    """The `top` functions of a py-spy raw profile by inclusive share, with their own share."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        # "function (path/to/file.py:line)": keep the function and the file's name.
        frames = [
            f"{f.split(' (')[0]} {f.rsplit('/', 1)[-1].split(':')[0]}" for f in stack.split(";")
        ]
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples"]
    for frame, samples in inclusive.most_common(top):
        lines.append(f"{samples / total:6.1%} incl {own[frame] / total:6.1%} own  {frame}")
    return lines


async def profile(system_name: str, topology: str, requests: int, out: Path, top: int) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    with tempfile.TemporaryDirectory() as workdir:
        system = start(system_name, topology, Path(workdir))
        spies: dict[str, subprocess.Popen[bytes]] = {}
        try:
            await throughput(system.call, max(IN_FLIGHT, requests // 5), IN_FLIGHT)
            for name, pid in system.pids().items():
                spies[name] = subprocess.Popen(
                    [spy, "record", "-p", str(pid), "-f", "raw", "-r", "200", "--nonblocking"]
                    + ["-o", str(out / f"{name}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            rps = await throughput(system.call, requests, IN_FLIGHT)
        finally:
            # Also when the run fails: no profiler is left recording a process that is gone.
            for recorder in spies.values():
                recorder.send_signal(signal.SIGINT)  # py-spy writes its file and exits
            for recorder in spies.values():
                recorder.wait()
            system.stop()
    print(f"{system_name} / {topology}: {rps:.0f} req/s under the profilers")
    for name in spies:
        folded = out / f"{name}.txt"
        if folded.exists():
            print(f"\n{name}:", *summary(folded, top), sep="\n  ")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--system", choices=[s for s in SYSTEMS if s != "ray"], default="tutti")
    parser.add_argument("--topology", choices=TOPOLOGIES, default="route")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30, help="functions listed per process")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tutti-profile")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    uvloop.run(profile(args.system, args.topology, args.requests, args.out, args.top))


if __name__ == "__main__":
    main()
