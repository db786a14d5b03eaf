from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteRequest(_message.Message):
    __slots__ = ("composition", "input", "options")
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    composition: str
    input: _any_pb2.Any
    options: RouteOptions
    def __init__(self, composition: _Optional[str] = ..., input: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., options: _Optional[_Union[RouteOptions, _Mapping]] = ...) -> None: ...

class RouteOptions(_message.Message):
    __slots__ = ("max_cost_usd", "no_cache")
    MAX_COST_USD_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    max_cost_usd: float
    no_cache: bool
    def __init__(self, max_cost_usd: _Optional[float] = ..., no_cache: _Optional[bool] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("output", "execution")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    output: _any_pb2.Any
    execution: Execution
    def __init__(self, output: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class RouteStreamRequest(_message.Message):
    __slots__ = ("request_id", "request")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    request: RouteRequest
    def __init__(self, request_id: _Optional[str] = ..., request: _Optional[_Union[RouteRequest, _Mapping]] = ...) -> None: ...

class RouteStreamResponse(_message.Message):
    __slots__ = ("request_id", "response", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    response: RouteResponse
    error: RouteError
    def __init__(self, request_id: _Optional[str] = ..., response: _Optional[_Union[RouteResponse, _Mapping]] = ..., error: _Optional[_Union[RouteError, _Mapping]] = ...) -> None: ...

class RouteCompletionRequest(_message.Message):
    __slots__ = ("composition", "input", "options")
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    composition: str
    input: _any_pb2.Any
    options: RouteOptions
    def __init__(self, composition: _Optional[str] = ..., input: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., options: _Optional[_Union[RouteOptions, _Mapping]] = ...) -> None: ...

class RouteCompletionResponse(_message.Message):
    __slots__ = ("delta", "response")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    delta: str
    response: RouteResponse
    def __init__(self, delta: _Optional[str] = ..., response: _Optional[_Union[RouteResponse, _Mapping]] = ...) -> None: ...

class RouteError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("stages", "path", "total_cost_usd", "latency_ms", "composition", "decisions")
    STAGES_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_USD_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    stages: _containers.RepeatedCompositeFieldContainer[StageRun]
    path: _containers.RepeatedScalarFieldContainer[str]
    total_cost_usd: float
    latency_ms: float
    composition: str
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    def __init__(self, stages: _Optional[_Iterable[_Union[StageRun, _Mapping]]] = ..., path: _Optional[_Iterable[str]] = ..., total_cost_usd: _Optional[float] = ..., latency_ms: _Optional[float] = ..., composition: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("node", "kind", "source", "label", "confidence", "threshold", "taken", "reason", "degraded")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Decision.Kind]
        KIND_ROUTE: _ClassVar[Decision.Kind]
        KIND_ESCALATE: _ClassVar[Decision.Kind]
        KIND_CASCADE: _ClassVar[Decision.Kind]
        KIND_FALLBACK: _ClassVar[Decision.Kind]
        KIND_SPLIT: _ClassVar[Decision.Kind]
    KIND_UNSPECIFIED: Decision.Kind
    KIND_ROUTE: Decision.Kind
    KIND_ESCALATE: Decision.Kind
    KIND_CASCADE: Decision.Kind
    KIND_FALLBACK: Decision.Kind
    KIND_SPLIT: Decision.Kind
    NODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TAKEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    node: str
    kind: Decision.Kind
    source: str
    label: str
    confidence: float
    threshold: float
    taken: str
    reason: str
    degraded: bool
    def __init__(self, node: _Optional[str] = ..., kind: _Optional[_Union[Decision.Kind, str]] = ..., source: _Optional[str] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ..., threshold: _Optional[float] = ..., taken: _Optional[str] = ..., reason: _Optional[str] = ..., degraded: _Optional[bool] = ...) -> None: ...

class StageRun(_message.Message):
    __slots__ = ("stage", "model", "model_version", "status", "latency_ms", "budget_ms", "over_budget", "cost_usd", "cache_hit", "detail", "compute_ms")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[StageRun.Status]
        STATUS_OK: _ClassVar[StageRun.Status]
        STATUS_FAILED: _ClassVar[StageRun.Status]
        STATUS_INVALID_OUTPUT: _ClassVar[StageRun.Status]
        STATUS_DEADLINE_EXCEEDED: _ClassVar[StageRun.Status]
        STATUS_SKIPPED: _ClassVar[StageRun.Status]
        STATUS_DEGRADED: _ClassVar[StageRun.Status]
    STATUS_UNSPECIFIED: StageRun.Status
    STATUS_OK: StageRun.Status
    STATUS_FAILED: StageRun.Status
    STATUS_INVALID_OUTPUT: StageRun.Status
    STATUS_DEADLINE_EXCEEDED: StageRun.Status
    STATUS_SKIPPED: StageRun.Status
    STATUS_DEGRADED: StageRun.Status
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    OVER_BUDGET_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_MS_FIELD_NUMBER: _ClassVar[int]
    stage: str
    model: str
    model_version: str
    status: StageRun.Status
    latency_ms: float
    budget_ms: float
    over_budget: bool
    cost_usd: float
    cache_hit: bool
    detail: str
    compute_ms: float
    def __init__(self, stage: _Optional[str] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., status: _Optional[_Union[StageRun.Status, str]] = ..., latency_ms: _Optional[float] = ..., budget_ms: _Optional[float] = ..., over_budget: _Optional[bool] = ..., cost_usd: _Optional[float] = ..., cache_hit: _Optional[bool] = ..., detail: _Optional[str] = ..., compute_ms: _Optional[float] = ...) -> None: ...

class ListCompositionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCompositionsResponse(_message.Message):
    __slots__ = ("compositions",)
    COMPOSITIONS_FIELD_NUMBER: _ClassVar[int]
    compositions: _containers.RepeatedCompositeFieldContainer[CompositionInfo]
    def __init__(self, compositions: _Optional[_Iterable[_Union[CompositionInfo, _Mapping]]] = ...) -> None: ...

class CompositionInfo(_message.Message):
    __slots__ = ("name", "input_type", "output_type", "stages", "budget_latency_ms", "budget_cost_usd", "descriptors")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_COST_USD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTORS_FIELD_NUMBER: _ClassVar[int]
    name: str
    input_type: str
    output_type: str
    stages: _containers.RepeatedScalarFieldContainer[str]
    budget_latency_ms: float
    budget_cost_usd: float
    descriptors: _descriptor_pb2.FileDescriptorSet
    def __init__(self, name: _Optional[str] = ..., input_type: _Optional[str] = ..., output_type: _Optional[str] = ..., stages: _Optional[_Iterable[str]] = ..., budget_latency_ms: _Optional[float] = ..., budget_cost_usd: _Optional[float] = ..., descriptors: _Optional[_Union[_descriptor_pb2.FileDescriptorSet, _Mapping]] = ...) -> None: ...
