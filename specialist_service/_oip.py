"""The `oip` backend: a model on an Open Inference Protocol (KServe v2) server, over gRPC.

    backend: oip
    imports: [tutti.support.v1.support_pb2]
    input: tutti.support.v1.Ticket
    output: tutti.v1.Classification
    oip:
      target: 127.0.0.1:8081          # the inference server's gRPC address
      model: triage                   # and model_version: "3", else the server's choice
      inputs: {text: text}            # tensor name: dotted field path of the input
      outputs:                        # tensor name: dotted field path of the output, or
        predict_proba: {labels: models/triage/model.json}   # probabilities -> Classification
      timeout_s: 5                    # per call, when the caller set no deadline
      startup_timeout_s: 10           # how long start-up waits for the server to be ready

Which datatype fits which field, and how a message becomes tensors and back,
is in `_oip_tensors`. An output given as `{labels: ..., field: path}` reads the
tensor as class probabilities in the order of `labels` (a list, or a file: JSON,
a list or an object with "labels" such as a model.json, else one label a line)
and fills the tutti.v1.Classification at `field` (the whole output when no field
is given).

At start-up the server and the model must be ready within `startup_timeout_s`,
and the model's metadata must agree with the mapping: every tensor named exists
and its datatype fits its field. A server that declares no input (or no output)
tensors cannot be checked; the mapping is then trusted, a warning is logged, and
inputs go out with the datatype their field implies. Only declared outputs are
requested, by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from google.protobuf import message
from google.protobuf.descriptor import FieldDescriptor
from grpc import aio

from inference import grpc_predict_v2_pb2 as oip
from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from specialist_service._backend import Backend, Prediction
from specialist_service._oip_plan import OipPlan, dotted, input_specs
from specialist_service._oip_tensors import (
    InputSpec,
    OutputSpec,
    classify,
    fits,
    input_tensor,
    output_values,
)
from specialist_service._section import Section
from tutti.config import Problems
from tutti.errors import StageCallError, StageDeadlineError
from tutti.server import DEFAULT_MAX_MESSAGE_BYTES
from tutti.telemetry import CallSpans, end_call_span, tracing_enabled

if TYPE_CHECKING:
    # The aio stub's type exists only in the generated .pyi.
    from inference.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceAsyncStub

__all__ = ["OipBackend", "build"]

log = logging.getLogger(__name__)


# What an inference server's status means for this stage's caller. Server trouble stays
# UNAVAILABLE (worth another try); a refused request (a bad tensor, an unknown model) is the
# stage's setup at fault, never the caller's input (INVALID_ARGUMENT) nor hidden (INTERNAL).
# The method a stage calls for every prediction; its client span carries the trace on.
_MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"
_REFUSED = grpc.StatusCode.FAILED_PRECONDITION
_OUR_CODE = {
    grpc.StatusCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED: grpc.StatusCode.UNAVAILABLE,
}


class OipBackend(Backend):
    """Sends one input message as one row to a model on an inference server.

    The server reports neither tokens nor compute time, so a prediction has no
    tokens and `compute_ms` 0: the call's wall-clock is waiting, not compute.
    """

    def __init__(
        self,
        *,
        stage: str,
        target: str,
        model: str,
        model_version: str,
        inputs: Sequence[InputSpec],
        outputs: Sequence[OutputSpec],
        input_type: str,
        output_class: type[message.Message],
        name: str,
        version: str,
        timeout_s: float,
    ) -> None:
        self.input_type = input_type
        self.output_type = output_class.DESCRIPTOR.full_name
        self.name = name
        self.version = version
        self._stage, self._target, self._model = stage, target, model
        self._model_version = model_version
        self._inputs, self._outputs = tuple(inputs), tuple(outputs)
        self._output_class = output_class
        self._timeout_s = timeout_s
        # Made on first use, inside the serving loop that grpc.aio binds it to.
        self._channel: aio.Channel | None = None
        self._stub: GRPCInferenceServiceAsyncStub | None = None
        self._spans: CallSpans | None = None

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        request = oip.ModelInferRequest(model_name=self._model, model_version=self._model_version)
        request.inputs.extend(input_tensor(spec, msg) for spec in self._inputs)
        request.outputs.extend(
            oip.ModelInferRequest.InferRequestedOutputTensor(name=o.tensor) for o in self._outputs
        )
        seconds = self._timeout_s if timeout is None else timeout
        if seconds <= 0:
            raise StageDeadlineError(self._stage, "no time left to ask the inference server")
        if self._stub is None:
            self._channel = aio.insecure_channel(
                self._target,
                options=[("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES)],
            )
            self._stub = GRPCInferenceServiceStub(self._channel)
            self._spans = CallSpans(_MODEL_INFER) if tracing_enabled() else None
        span, metadata = self._spans.start() if self._spans is not None else (None, None)
        try:
            response: oip.ModelInferResponse = await self._stub.ModelInfer(
                request, timeout=seconds, metadata=metadata
            )
        except aio.AioRpcError as exc:
            end_call_span(span, exc.code(), exc.details())
            raise self._call_error(exc, seconds) from None
        except BaseException:
            end_call_span(span, grpc.StatusCode.CANCELLED, "cancelled")
            raise
        end_call_span(span, grpc.StatusCode.OK, None)
        output = self._output_class()
        for filled in self._outputs:
            self._fill(output, filled, response)
        return Prediction(output, compute_ms=0.0)

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    def _call_error(
        self, exc: aio.AioRpcError, seconds: float
    ) -> StageCallError | StageDeadlineError:
        where = f"model {self._model} at {self._target}"
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return StageDeadlineError(self._stage, f"{where} did not answer within {seconds:.3g}s")
        # The server's own words, first line only: no remote traceback reaches the client.
        detail = (exc.details() or "").strip().splitlines()
        text = f"{where}: {exc.code().name}: {detail[0] if detail else ''}"
        return StageCallError(self._stage, _OUR_CODE.get(exc.code(), _REFUSED), text)

    def _wrong(self, message_: str) -> StageCallError:
        # An answer the mapping cannot read: the stage's setup, not the caller, is at fault.
        return StageCallError(self._stage, _REFUSED, f"model {self._model}: {message_}")

    def _fill(
        self, output: message.Message, spec: OutputSpec, response: oip.ModelInferResponse
    ) -> None:
        found = [i for i, t in enumerate(response.outputs) if t.name == spec.tensor]
        if not found:
            raise self._wrong(f"the answer has no output tensor '{spec.tensor}'")
        tensor = response.outputs[found[0]]
        raw = response.raw_output_contents[found[0]] if response.raw_output_contents else None
        values = output_values(tensor, raw)
        if values is None:
            raise self._wrong(
                f"output tensor '{spec.tensor}' ({tensor.datatype}) cannot be decoded"
            )
        parent = output
        for field in spec.path[:-1]:
            parent = getattr(parent, field.name)
        if spec.labels is not None:
            if tensor.datatype not in ("FP16", "FP32", "FP64") or len(values) != len(spec.labels):
                raise self._wrong(
                    f"output tensor '{spec.tensor}' is {tensor.datatype} with {len(values)} values,"
                    f" not the probabilities of {len(spec.labels)} labels"
                )
            target = getattr(parent, spec.path[-1].name) if spec.path else output
            classify(target, spec.labels, [float(v) for v in values])  # type: ignore[arg-type]
            return
        field = spec.path[-1]
        if not fits(field, tensor.datatype, sending=False):
            raise self._wrong(
                f"output tensor '{spec.tensor}' is {tensor.datatype}, which cannot fill"
                f" {dotted(spec.path)}"
            )
        if field.type == FieldDescriptor.TYPE_STRING:
            try:
                values = [bytes(v).decode("utf-8") for v in values]  # type: ignore[call-overload]
            except UnicodeDecodeError:
                raise self._wrong(f"output tensor '{spec.tensor}' is not UTF-8 text") from None
        if field.is_repeated:
            getattr(parent, field.name).extend(values)
        elif len(values) == 1:
            setattr(parent, field.name, values[0])
        else:
            raise self._wrong(
                f"output tensor '{spec.tensor}' has {len(values)} values;"
                f" {dotted(spec.path)} holds one"
            )


def _metadata(
    problems: Problems, target: str, model: str, version: str, wait_s: float
) -> oip.ModelMetadataResponse:
    """The model's metadata, once server and model are ready; waits at most `wait_s`."""
    deadline = time.monotonic() + wait_s
    channel = grpc.insecure_channel(target)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=wait_s)
        except grpc.FutureTimeoutError:
            raise problems.fail(
                "oip.target", f"no inference server answered at {target} within {wait_s:g}s"
            ) from None

        stub = GRPCInferenceServiceStub(channel)

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        what = f"model {model}" + (f" version {version}" if version else "")
        # Once the server has answered ServerReady, a failure is about the model.
        key = "target"
        try:
            while not stub.ServerReady(oip.ServerReadyRequest(), timeout=left()).ready:
                if time.monotonic() > deadline:
                    raise problems.fail(
                        f"oip.{key}", f"the inference server at {target} is not ready"
                    )
                time.sleep(0.1)  # polling a server that is starting, against the deadline
            key = "model"
            ready = oip.ModelReadyRequest(name=model, version=version)
            while not stub.ModelReady(ready, timeout=left()).ready:
                if time.monotonic() > deadline:
                    raise problems.fail(f"oip.{key}", f"{what} at {target} is not ready")
                time.sleep(0.1)
            request = oip.ModelMetadataRequest(name=model, version=version)
            metadata: oip.ModelMetadataResponse = stub.ModelMetadata(request, timeout=left())
            return metadata
        except grpc.RpcError as exc:
            # The server's own words, first line only (MLServer sends a class name first).
            code = exc.code().name if isinstance(exc, grpc.Call) else "error"
            lines = ((exc.details() if isinstance(exc, grpc.Call) else "") or "").splitlines()
            reason = f"{code}: {lines[0].strip()}" if lines else code
            raise problems.fail(f"oip.{key}", f"{what} at {target}: {reason}") from None
    finally:
        channel.close()


def build(plan: OipPlan, problems: Problems, *, name: str, version: str) -> OipBackend:
    """Check the plan against the server's model metadata, then make the backend."""
    section = Section("oip", {}, problems, frozenset(), base_dir=Path())
    metadata = _metadata(
        problems, plan.target, plan.model, plan.model_version, plan.startup_timeout_s
    )
    for side, declared in (("input", metadata.inputs), ("output", metadata.outputs)):
        if not declared:
            log.warning("model %s at %s declares no %s tensors; oip.%ss is not checked against it",
                        plan.model, plan.target, side, side)  # fmt: skip
    inputs, outputs = input_specs(plan, metadata, section)
    problems.raise_if_any()
    versions = list(metadata.versions)
    model_version = plan.model_version or (",".join(versions) if versions else version) or "0"
    return OipBackend(
        stage=problems.stage,
        target=plan.target,
        model=plan.model,
        model_version=plan.model_version,
        inputs=inputs,
        outputs=outputs,
        input_type=plan.input_type,
        output_class=plan.output_class,
        name=name or plan.model,
        version=model_version,
        timeout_s=plan.timeout_s,
    )
