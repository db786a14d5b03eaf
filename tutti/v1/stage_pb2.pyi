from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvokeRequest(_message.Message):
    __slots__ = ("input", "stage")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    input: _any_pb2.Any
    stage: str
    def __init__(self, input: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., stage: _Optional[str] = ...) -> None: ...

class InvokeResponse(_message.Message):
    __slots__ = ("output", "usage", "model")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    output: _any_pb2.Any
    usage: Usage
    model: ModelRef
    def __init__(self, output: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., model: _Optional[_Union[ModelRef, _Mapping]] = ...) -> None: ...

class InvokeStreamRequest(_message.Message):
    __slots__ = ("input", "stage")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    input: _any_pb2.Any
    stage: str
    def __init__(self, input: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., stage: _Optional[str] = ...) -> None: ...

class InvokeStreamResponse(_message.Message):
    __slots__ = ("delta", "response")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    delta: str
    response: InvokeResponse
    def __init__(self, delta: _Optional[str] = ..., response: _Optional[_Union[InvokeResponse, _Mapping]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cost_usd", "compute_ms", "cache_hit")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_MS_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    compute_ms: float
    cache_hit: bool
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., compute_ms: _Optional[float] = ..., cache_hit: _Optional[bool] = ...) -> None: ...

class ModelRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("stage", "input_type", "output_type", "descriptors", "model_card")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTORS_FIELD_NUMBER: _ClassVar[int]
    MODEL_CARD_FIELD_NUMBER: _ClassVar[int]
    stage: str
    input_type: str
    output_type: str
    descriptors: _descriptor_pb2.FileDescriptorSet
    model_card: ModelCard
    def __init__(self, stage: _Optional[str] = ..., input_type: _Optional[str] = ..., output_type: _Optional[str] = ..., descriptors: _Optional[_Union[_descriptor_pb2.FileDescriptorSet, _Mapping]] = ..., model_card: _Optional[_Union[ModelCard, _Mapping]] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("per_call_usd", "per_1k_input_tokens_usd", "per_1k_output_tokens_usd")
    PER_CALL_USD_FIELD_NUMBER: _ClassVar[int]
    PER_1K_INPUT_TOKENS_USD_FIELD_NUMBER: _ClassVar[int]
    PER_1K_OUTPUT_TOKENS_USD_FIELD_NUMBER: _ClassVar[int]
    per_call_usd: float
    per_1k_input_tokens_usd: float
    per_1k_output_tokens_usd: float
    def __init__(self, per_call_usd: _Optional[float] = ..., per_1k_input_tokens_usd: _Optional[float] = ..., per_1k_output_tokens_usd: _Optional[float] = ...) -> None: ...

class ModelCard(_message.Message):
    __slots__ = ("name", "version", "price", "expected_latency_ms", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    price: Price
    expected_latency_ms: float
    description: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., expected_latency_ms: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...
