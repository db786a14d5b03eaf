"""Reading payloads: a stage output's type and constraints, a decision's confidence.

Payloads travel as the `Any` bytes a stage returned; they are decoded only
to validate them or to read a decision, and never re-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import any_pb2, message

from router_service.engine._run import Result
from router_service.plan import StageSpec
from tutti.errors import OutputValidationError
from tutti.messages import MessageTypes, type_name_of, validate_output

__all__ = ["Payloads"]


class Payloads:
    """The message classes of every type a composition's nodes return."""

    def __init__(self, types: MessageTypes, type_names: Iterable[str]) -> None:
        self._classes = {name: types.message_class(name) for name in set(type_names) if name}

    def decoded(self, result: Result, type_name: str, producer: str) -> message.Message:
        """The result's message, decoded once; `producer` names the node it came from."""
        if result.decoded is None:
            try:
                result.decoded = self._classes[type_name].FromString(result.payload.value)
            except message.DecodeError as exc:
                raise OutputValidationError(
                    producer, "@value", f"is not a valid {type_name}"
                ) from exc
        return result.decoded

    def confidence(self, result: Result, type_name: str, path: str, producer: str) -> float:
        """The confidence of the Classification at dotted `path` in the result ("" : itself)."""
        found: Any = self.decoded(result, type_name, producer)
        for part in path.split(".") if path else ():
            found = getattr(found, part)
        return float(found.confidence)

    def validated(
        self, spec: StageSpec, expected: str, output: any_pb2.Any
    ) -> message.Message | None:
        """Check a stage output's type and, when the stage asks for validation, its constraints;
        the decoded message when it was decoded. Raises OutputValidationError."""
        actual = type_name_of(output)
        if actual != expected:
            raise OutputValidationError(
                spec.name, "@type", f"holds {actual or 'nothing'}; expected {expected}"
            )
        if not spec.validate:
            return None
        try:
            decoded = self._classes[expected].FromString(output.value)
        except message.DecodeError as exc:
            raise OutputValidationError(spec.name, "@value", f"is not a valid {expected}") from exc
        validate_output(spec.name, decoded)
        return decoded
