from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MergeStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MERGE_STRATEGY_UNSPECIFIED: _ClassVar[MergeStrategy]
    MERGE_STRATEGY_MAJORITY_VOTE: _ClassVar[MergeStrategy]
    MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE: _ClassVar[MergeStrategy]
    MERGE_STRATEGY_PROBABILITY_AVERAGE: _ClassVar[MergeStrategy]
    MERGE_STRATEGY_HIGHEST_CONFIDENCE: _ClassVar[MergeStrategy]
    MERGE_STRATEGY_FIRST_VALID: _ClassVar[MergeStrategy]
MERGE_STRATEGY_UNSPECIFIED: MergeStrategy
MERGE_STRATEGY_MAJORITY_VOTE: MergeStrategy
MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE: MergeStrategy
MERGE_STRATEGY_PROBABILITY_AVERAGE: MergeStrategy
MERGE_STRATEGY_HIGHEST_CONFIDENCE: MergeStrategy
MERGE_STRATEGY_FIRST_VALID: MergeStrategy

class MergeRequest(_message.Message):
    __slots__ = ("candidates", "strategy", "field", "weights")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    strategy: MergeStrategy
    field: str
    weights: _containers.ScalarMap[str, float]
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., strategy: _Optional[_Union[MergeStrategy, str]] = ..., field: _Optional[str] = ..., weights: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("name", "output")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    output: _any_pb2.Any
    def __init__(self, name: _Optional[str] = ..., output: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class MergeResponse(_message.Message):
    __slots__ = ("output", "winners")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    WINNERS_FIELD_NUMBER: _ClassVar[int]
    output: _any_pb2.Any
    winners: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, output: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., winners: _Optional[_Iterable[str]] = ...) -> None: ...
