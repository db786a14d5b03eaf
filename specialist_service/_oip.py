"""The `oip` backend: a model on an Open Inference Protocol (KServe v2) server, over gRPC.

    backend: oip
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

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import grpc
from google.protobuf import message
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc import aio

from inference import grpc_predict_v2_pb2 as oip
from specialist_service._backends import Prediction
from specialist_service._config import CLASSIFICATION, SpecialistConfig
from specialist_service._oip_tensors import (
    DATATYPES,
    NATURAL_DATATYPE,
    InputSpec,
    OutputSpec,
    classify,
    fits,
    input_tensor,
    output_values,
)
from specialist_service._section import Section
from tutti.errors import StageCallError, StageDeadlineError
from tutti.messages import MessageTypes
from tutti.server import DEFAULT_MAX_MESSAGE_BYTES
from tutti.telemetry import client_interceptors

__all__ = ["OipBackend", "build"]

log = logging.getLogger(__name__)

_KEYS = frozenset(
    {"target", "model", "model_version", "inputs", "outputs", "timeout_s", "startup_timeout_s"}
)
_SERVICE = "/inference.GRPCInferenceService/"

_TYPE_NAMES = {
    number: name.removeprefix("TYPE_").lower()
    for name, number in vars(FieldDescriptor).items()
    if name.startswith("TYPE_") and isinstance(number, int)
}


def _dotted(path: Sequence[FieldDescriptor]) -> str:
    return ".".join(f.name for f in path) or "(the whole output)"


def _described(path: Sequence[FieldDescriptor]) -> str:
    """`ticket.text (string)`: a field path and its protobuf type."""
    field = path[-1]
    kind = field.message_type.full_name if field.message_type else _TYPE_NAMES[field.type]
    return f"{_dotted(path)} ({'repeated ' if field.is_repeated else ''}{kind})"


# What an inference server's status means for this stage's caller. Server trouble stays
# UNAVAILABLE (worth another try); a refused request (a bad tensor, an unknown model) is the
# stage's setup at fault, never the caller's input (INVALID_ARGUMENT) nor hidden (INTERNAL).
_REFUSED = grpc.StatusCode.FAILED_PRECONDITION
_OUR_CODE = {
    grpc.StatusCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN: grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED: grpc.StatusCode.UNAVAILABLE,
}


class OipBackend:
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
        self._infer: aio.UnaryUnaryMultiCallable[oip.ModelInferRequest, oip.ModelInferResponse]

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        request = oip.ModelInferRequest(model_name=self._model, model_version=self._model_version)
        request.inputs.extend(input_tensor(spec, msg) for spec in self._inputs)
        request.outputs.extend(
            oip.ModelInferRequest.InferRequestedOutputTensor(name=o.tensor) for o in self._outputs
        )
        seconds = self._timeout_s if timeout is None else timeout
        if seconds <= 0:
            raise StageDeadlineError(self._stage, "no time left to ask the inference server")
        if self._channel is None:
            self._channel = aio.insecure_channel(
                self._target,
                options=[("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES)],
                interceptors=client_interceptors(),
            )
            self._infer = self._channel.unary_unary(
                _SERVICE + "ModelInfer",
                request_serializer=oip.ModelInferRequest.SerializeToString,
                response_deserializer=oip.ModelInferResponse.FromString,
            )
        try:
            response = await self._infer(request, timeout=seconds)
        except aio.AioRpcError as exc:
            raise self._call_error(exc, seconds) from None
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
                f" {_dotted(spec.path)}"
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
                f" {_dotted(spec.path)} holds one"
            )


def build(config: SpecialistConfig, types: MessageTypes) -> OipBackend:
    """Read the `oip:` section, check it against the server's model metadata, make the backend."""
    section = Section(config, _KEYS)
    target = section.text("target", required=True)
    model = section.text("model", required=True)
    model_version = section.text("model_version")
    timeout_s = section.number("timeout_s", 5.0, above=True)
    startup_s = section.number("startup_timeout_s", 10.0, above=True)
    for key in ("per_1k_input_tokens_usd", "per_1k_output_tokens_usd"):
        if getattr(config.price, key):
            raise config.error(
                f"price.{key}", "the inference protocol reports no tokens; price per call"
            )
    for key in ("input", "output"):
        if not types.knows(getattr(config, key)):
            raise config.error(key, f"unknown message type {getattr(config, key)}")
    input_class = types.message_class(config.input)
    output_class = types.message_class(config.output)
    inputs_map, outputs_map = section.mapping("inputs"), section.mapping("outputs")
    if not inputs_map:
        raise section.error("inputs", "missing required key; map tensor names to input fields")
    if not outputs_map:
        raise section.error("outputs", "missing required key; map tensor names to output fields")

    metadata = _metadata(section, target, model, model_version, startup_s)
    declared_in = {t.name: t.datatype for t in metadata.inputs}
    declared_out = {t.name: t.datatype for t in metadata.outputs}
    for side, declared in (("input", declared_in), ("output", declared_out)):
        if not declared:
            log.warning("model %s at %s declares no %s tensors; oip.%ss is not checked against it",
                        model, target, side, side)  # fmt: skip

    inputs = []
    for tensor, value in inputs_map.items():
        key = f"inputs.{tensor}"
        if not isinstance(value, str) or not value:
            raise section.error(
                key, f"must be a dotted field path of {config.input}, not {value!r}"
            )
        path = _scalar(
            section, key, _path(section, key, cast(Descriptor, input_class.DESCRIPTOR), value)
        )
        datatype = declared_in.get(tensor) or NATURAL_DATATYPE[path[-1].cpp_type]
        _check_tensor(section, key, model, "input", tensor, declared_in, datatype, path, True)
        inputs.append(InputSpec(tensor, path, datatype))

    outputs = []
    for tensor, value in outputs_map.items():
        key = f"outputs.{tensor}"
        spec = _output(section, key, tensor, value, cast(Descriptor, output_class.DESCRIPTOR))
        datatype = declared_out.get(tensor, "")
        if spec.labels is not None:
            _check_known(section, key, model, "output", tensor, declared_out)
            if datatype and datatype not in ("FP16", "FP32", "FP64"):
                raise section.error(
                    key, f"output tensor '{tensor}' of model {model} is {datatype}; probabilities"
                    " for labels must be FP16, FP32 or FP64",
                )  # fmt: skip
            width = next(
                (t.shape[-1] for t in metadata.outputs if t.name == tensor and t.shape), -1
            )
            if width > 0 and width != len(spec.labels):
                raise section.error(
                    f"{key}.labels",
                    f"{len(spec.labels)} labels, but output tensor '{tensor}' has {width} classes",
                )
        elif datatype:
            _check_tensor(
                section, key, model, "output", tensor, declared_out, datatype, spec.path, False
            )
        outputs.append(spec)

    versions = list(metadata.versions)
    version = model_version or (",".join(versions) if versions else config.version) or "0"
    return OipBackend(
        stage=config.stage,
        target=target,
        model=model,
        model_version=model_version,
        inputs=inputs,
        outputs=outputs,
        input_type=config.input,
        output_class=output_class,
        name=config.name or model,
        version=version,
        timeout_s=timeout_s,
    )


def _metadata(
    section: Section, target: str, model: str, version: str, wait_s: float
) -> oip.ModelMetadataResponse:
    """The model's metadata, once server and model are ready; waits at most `wait_s`."""
    deadline = time.monotonic() + wait_s
    channel = grpc.insecure_channel(target)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=wait_s)
        except grpc.FutureTimeoutError:
            raise section.error(
                "target", f"no inference server answered at {target} within {wait_s:g}s"
            ) from None

        def call(method: str, request: message.Message, response: type[message.Message]) -> Any:
            stub = channel.unary_unary(
                _SERVICE + method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response.FromString,
            )
            return stub(request, timeout=max(0.1, deadline - time.monotonic()))

        what = f"model {model}" + (f" version {version}" if version else "")
        # Once the server has answered ServerReady, a failure is about the model.
        key = "target"
        try:
            while not call("ServerReady", oip.ServerReadyRequest(), oip.ServerReadyResponse).ready:
                if time.monotonic() > deadline:
                    raise section.error(key, f"the inference server at {target} is not ready")
                time.sleep(0.1)
            key = "model"
            ready = oip.ModelReadyRequest(name=model, version=version)
            while not call("ModelReady", ready, oip.ModelReadyResponse).ready:
                if time.monotonic() > deadline:
                    raise section.error(key, f"{what} at {target} is not ready")
                time.sleep(0.1)
            request = oip.ModelMetadataRequest(name=model, version=version)
            metadata: oip.ModelMetadataResponse = call(
                "ModelMetadata", request, oip.ModelMetadataResponse
            )
            return metadata
        except grpc.RpcError as exc:
            # The server's own words, first line only (MLServer sends a class name first).
            code = exc.code().name if isinstance(exc, grpc.Call) else "error"
            lines = ((exc.details() if isinstance(exc, grpc.Call) else "") or "").splitlines()
            reason = f"{code}: {lines[0].strip()}" if lines else code
            raise section.error(key, f"{what} at {target}: {reason}") from None
    finally:
        channel.close()


def _path(section: Section, key: str, root: Descriptor, dotted: str) -> tuple[FieldDescriptor, ...]:
    """The fields along `dotted`, through singular message fields, from `root`."""
    path: list[FieldDescriptor] = []
    current: Descriptor | None = root
    for part in dotted.split("."):
        if current is None:
            raise section.error(key, f"{_dotted(path)} is not a message, so it has no field {part}")
        field = current.fields_by_name.get(part)
        if field is None:
            raise section.error(key, f"{current.full_name} has no field {part!r}")
        path.append(field)
        singular_message = (
            field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE and not field.is_repeated
        )
        current = field.message_type if singular_message else None
    return tuple(path)


def _output(section: Section, key: str, tensor: str, value: object, root: Descriptor) -> OutputSpec:
    if isinstance(value, str) and value:
        return OutputSpec(tensor, _scalar(section, key, _path(section, key, root, value)))
    if not isinstance(value, Mapping) or set(value) - {"field", "labels"} or "labels" not in value:
        raise section.error(
            key, "must be a dotted field path of the output, or {labels: ..., field: path}"
        )
    field = value.get("field") or ""
    if not isinstance(field, str):
        raise section.error(f"{key}.field", f"must be a dotted field path, not {field!r}")
    path = _path(section, f"{key}.field", root, field) if field else ()
    kind = path[-1].message_type if path else root
    if kind is None or kind.full_name != CLASSIFICATION or (path and path[-1].is_repeated):
        raise section.error(
            f"{key}.field" if field else key,
            f"{_dotted(path)} is not a {CLASSIFICATION}, which labelled probabilities fill",
        )
    return OutputSpec(tensor, path, _labels(section, f"{key}.labels", value["labels"]))


def _labels(section: Section, key: str, value: object) -> tuple[str, ...]:
    """A list of labels, or a file of them: JSON (a list, or an object's "labels"), else lines."""
    labels: object = value
    if isinstance(value, str) and value:
        path = section.config.base_dir / value
        try:
            text = path.read_text(encoding="utf-8")
            labels = json.loads(text) if path.suffix == ".json" else text.split("\n")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise section.error(key, f"cannot read labels from {path}: {exc}") from None
        if isinstance(labels, dict):
            labels = labels.get("labels")
        if isinstance(labels, list) and path.suffix != ".json":
            labels = [line.strip() for line in labels if line.strip()]
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(v, str) and v for v in labels)
    ):
        raise section.error(key, "must be a list of labels, or a file of them")
    if len(set(labels)) != len(labels):
        raise section.error(key, "labels repeat; each class needs its own")
    return tuple(labels)


def _check_known(
    section: Section, key: str, model: str, side: str, tensor: str, declared: Mapping[str, str]
) -> None:
    if declared and tensor not in declared:
        raise section.error(
            key, f"model {model} has no {side} tensor '{tensor}'; it has: {', '.join(declared)}"
        )


def _check_tensor(
    section: Section,
    key: str,
    model: str,
    side: str,
    tensor: str,
    declared: Mapping[str, str],
    datatype: str,
    path: Sequence[FieldDescriptor],
    sending: bool,
) -> None:
    _check_known(section, key, model, side, tensor, declared)
    if not fits(path[-1], datatype, sending):
        fitting = [d for d in DATATYPES if fits(path[-1], d, sending)]
        raise section.error(
            key,
            f"{side} tensor '{tensor}' of model {model} is {datatype}, which cannot"
            f" {'carry' if sending else 'fill'} {_described(path)}; that takes"
            f" {', '.join(fitting)}",
        )


def _scalar(
    section: Section, key: str, path: tuple[FieldDescriptor, ...]
) -> tuple[FieldDescriptor, ...]:
    """`path`, if it ends at a scalar or repeated scalar field: what one tensor maps to."""
    field = path[-1]
    if field.cpp_type in (FieldDescriptor.CPPTYPE_MESSAGE, FieldDescriptor.CPPTYPE_ENUM):
        raise section.error(
            key,
            f"{_described(path)} is not a scalar or repeated scalar field, which tensors map to",
        )
    return path
