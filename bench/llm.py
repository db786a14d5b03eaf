"""What Tutti adds to an LLM call: llama.cpp direct, through a specialist, through a router.

The three paths run side by side: llama.cpp's server called directly, through a
specialist (the openai backend), and through a router in front of that specialist.

    python -m bench.llm [--requests N] [--runs R] [--max-tokens T] [--out DIR]

SmolLM2-135M on llama.cpp's OpenAI-compatible server (a child process), the same
request body on every path (the one the backend builds), temperature 0, one token by
default: generating more adds the model's time, and its noise, to every path alike. Each round
sends one request down each path in turn (rotating which goes first), so that a slow
spell hits all three; a run is `--requests` rounds; the figures are medians over runs
of each run's median.
The specialist and the router serve in this process's event loop (as in the tests),
beside the load generator.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvloop
from grpc import aio

from tests.conftest import start_mesh  # the in-loop mesh the tests use
from tests.llm_servers import MODEL_ALIAS, llama_server
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, stage_pb2, stage_pb2_grpc

PATHS = ("direct", "specialist", "router")
PROMPT = "Say hello to a customer of a bank."


def composition(base_url: str, max_tokens: int) -> str:
    return f"""
composition: llm
input: tutti.v1.Text
output: tutti.v1.Completion
stages:
  writer:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Completion
    serve: {{backend: openai, openai: {{base_url: "{base_url}", model: {MODEL_ALIAS},
             max_tokens: {max_tokens}, retry: {{attempts: 1}}}}}}
flow: writer
"""


async def run(base_url: str, requests: int, runs: int, max_tokens: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "llm.yaml"
        path.write_text(composition(base_url, max_tokens))
        mesh = await start_mesh(path)
    stage_channel = aio.insecure_channel(mesh.servers["writer"].address)
    stage = stage_pb2_grpc.StageServiceStub(stage_channel)
    text = pack(payloads_pb2.Text(text=PROMPT))
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
    }
    async with httpx.AsyncClient(timeout=60) as client:

        async def direct() -> None:
            (await client.post(f"{base_url}/chat/completions", json=body)).raise_for_status()

        async def specialist() -> None:
            await stage.Invoke(stage_pb2.InvokeRequest(input=text, stage="writer"), timeout=60)

        async def router() -> None:
            request = router_pb2.RouteRequest(composition="llm", input=text)
            await mesh.stub.Route(request, timeout=60)

        calls = {"direct": direct, "specialist": specialist, "router": router}
        for call in calls.values():  # warm up: connections, llama.cpp's prompt cache
            await call()
        per_run: dict[str, list[float]] = {name: [] for name in PATHS}
        for index in range(runs):
            times: dict[str, list[float]] = {name: [] for name in PATHS}
            for round_ in range(requests):
                # Each path takes each place in the round in turn: no path always goes first.
                shift = round_ % len(PATHS)
                for name in PATHS[shift:] + PATHS[:shift]:
                    started = time.perf_counter()
                    await calls[name]()
                    times[name].append((time.perf_counter() - started) * 1000)
            for name in PATHS:
                per_run[name].append(statistics.median(times[name]))
            print(f"run {index + 1}/{runs}: " + ", ".join(
                f"{n} {per_run[n][-1]:.1f} ms" for n in PATHS
            ), flush=True)  # fmt: skip
    await stage_channel.close()
    await mesh.close()
    p50 = {name: statistics.median(per_run[name]) for name in PATHS}
    return {
        "requests_per_run": requests,
        "runs": runs,
        "max_tokens": max_tokens,
        "p50_ms": p50,
        "p50_ms_per_run": per_run,
        "added_ms": {name: p50[name] - p50["direct"] for name in PATHS[1:]},
    }


def markdown(result: dict[str, Any]) -> str:
    p50, added = result["p50_ms"], result["added_ms"]
    lines = [
        (
            f"# LLM call overhead ({result['runs']} runs x {result['requests_per_run']} requests,"
            f" max_tokens {result['max_tokens']}, SmolLM2-135M on llama.cpp's server)"
        ),
        "",
        "| path | p50 ms (median of runs) | added over direct |",
        "|---|---:|---:|",
        f"| client -> llama.cpp | {p50['direct']:.1f} | - |",
        (
            f"| client -> specialist (openai backend) -> llama.cpp | {p50['specialist']:.1f} |"
            f" {added['specialist']:+.1f} ms |"
        ),
        (
            f"| client -> router -> specialist -> llama.cpp | {p50['router']:.1f} |"
            f" {added['router']:+.1f} ms |"
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=60, help="rounds per run (default: %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs (default: %(default)s)")
    parser.add_argument(
        "--max-tokens", type=int, default=1, help="tokens per answer (default: %(default)s)"
    )
    parser.add_argument(
        "--out", default="bench/results", help="where to write (default: %(default)s)"
    )
    args = parser.parse_args()
    with llama_server() as base_url:
        result = uvloop.run(run(base_url, args.requests, args.runs, args.max_tokens))
    text = markdown(result)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{datetime.date.today().isoformat()}-llm"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(text)
    print(f"wrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
