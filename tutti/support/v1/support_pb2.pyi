from buf.validate import validate_pb2 as _validate_pb2
from tutti.v1 import payloads_pb2 as _payloads_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Ticket(_message.Message):
    __slots__ = ("id", "text", "customer_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    customer_id: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class Triage(_message.Message):
    __slots__ = ("ticket", "intent", "department")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    intent: _payloads_pb2.Classification
    department: str
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ..., intent: _Optional[_Union[_payloads_pb2.Classification, _Mapping]] = ..., department: _Optional[str] = ...) -> None: ...

class Resolution(_message.Message):
    __slots__ = ("triage", "reply", "escalate_to_human", "macro")
    TRIAGE_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_TO_HUMAN_FIELD_NUMBER: _ClassVar[int]
    MACRO_FIELD_NUMBER: _ClassVar[int]
    triage: Triage
    reply: str
    escalate_to_human: bool
    macro: str
    def __init__(self, triage: _Optional[_Union[Triage, _Mapping]] = ..., reply: _Optional[str] = ..., escalate_to_human: _Optional[bool] = ..., macro: _Optional[str] = ...) -> None: ...
