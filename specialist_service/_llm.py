"""What the LLM backends share: a prompt rendered from the typed input, a completion parsed back.

A prompt template is Python format syntax over the input message's fields:
`"Ticket: {triage.ticket.text}"`; `{input}` is the whole message as JSON.
Field paths are checked against the input type when the config loads.

A completion becomes the output message in one of two ways:
- `text`: the text goes into one string field (`text_field`, default `text`);
  a `finish_reason` field, as in tutti.v1.Completion, gets the model's reason.
- `json`: the first JSON object in the completion (code fences and chatter
  around it tolerated) is parsed into the output type; unknown keys are ignored.
With `extend_input`, the output starts as a copy of the input (the output type
must then be the input type), so a stage can fill in one field of what it got.
Either way the result is validated against the output type's constraints, and a
completion that cannot become a valid output is an error naming the stage.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import descriptor, json_format, message

from specialist_service._section import Section
from tutti.errors import OutputValidationError
from tutti.messages import MessageTypes, validate_output

__all__ = ["Completion", "LlmContract", "json_schema", "load_contract"]

_FD = descriptor.FieldDescriptor
# The pure-Python and upb descriptor classes differ to the type checker, not at run time.
_Descriptor = Any
_WHOLE_INPUT = "input"
_CHAT_KEYS = frozenset(
    {"system", "prompt", "response", "text_field", "extend_input", "max_tokens", "temperature"}
)


@dataclass(frozen=True)
class Completion:
    """What a model generated and what it consumed."""

    text: str
    finish_reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class LlmContract:
    """How one stage talks to its LLM: the messages it sends and how it reads the answer."""

    stage: str
    input_type: str
    output_type: str
    system: str
    prompt: str
    response: Literal["text", "json"]
    text_field: str
    extend_input: bool
    max_tokens: int
    temperature: float
    output_class: type[message.Message]

    def messages(self, msg: message.Message) -> list[dict[str, str]]:
        """The chat messages for one input: the system prompt, then the user's, both rendered."""
        chat = [{"role": "system", "content": render(self.system, msg)}] if self.system else []
        chat.append({"role": "user", "content": render(self.prompt, msg)})
        return chat

    def fingerprint(self) -> str:
        """Everything that shapes an answer, for a model version that keys caches."""
        return json.dumps(
            [self.system, self.prompt, self.response, self.text_field, self.extend_input,
             self.max_tokens, self.temperature, self.output_type],
        )  # fmt: skip

    def parse(self, completion: Completion, msg: message.Message) -> message.Message:
        """The output message for `completion`, validated; OutputValidationError names the stage."""
        output = self.output_class()
        if self.extend_input:
            output.CopyFrom(msg)
        if self.response == "text":
            setattr(output, self.text_field, completion.text.strip())
            if "finish_reason" in output.DESCRIPTOR.fields_by_name:
                output.finish_reason = completion.finish_reason  # type: ignore[attr-defined]
        else:
            found = first_json_object(completion.text)
            if found is None:
                excerpt = completion.text.strip()[:80]
                why = " (cut off at max_tokens)" if completion.finish_reason == "length" else ""
                raise OutputValidationError(
                    self.stage, "(completion)", f"holds no JSON object{why}: {excerpt!r}"
                )
            try:
                json_format.ParseDict(found, output, ignore_unknown_fields=True)
            except json_format.ParseError as exc:
                raise OutputValidationError(
                    self.stage, "(completion)", f"does not fit {self.output_type}: {exc}"
                ) from exc
        validate_output(self.stage, output)
        return output


def render(template: str, msg: message.Message) -> str:
    """Fill `template` from `msg`; paths were checked at load, so lookups cannot fail."""
    out: list[str] = []
    for literal, path, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if path is None:
            continue
        value: Any = msg if path == _WHOLE_INPUT else _lookup(msg, path)
        if isinstance(value, message.Message):
            value = json_format.MessageToJson(value, indent=None)
        elif conversion == "r":
            value = repr(value)
        out.append(format(value, spec or ""))
    return "".join(out)


def _lookup(msg: message.Message, path: str) -> object:
    value: object = msg
    for part in path.split("."):
        value = getattr(value, part)
    return value


def first_json_object(text: str) -> dict[str, object] | None:
    """The first JSON object in `text`: the whole text, or one inside fences or prose."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            found, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(found, dict):
            return found
        start = text.find("{", start + 1)
    return None


def load_contract(
    section: Section, input_type: str, output_type: str, types: MessageTypes
) -> LlmContract | None:
    """Read and check the chat keys of an LLM backend's section against the stage's types.

    Every problem is reported to the section; None when any was found.
    """
    before = len(section.problems.found)
    classes = []
    for key, name in (("input", input_type), ("output", output_type)):
        if not types.knows(name):
            section.problems.report(
                key, f"unknown message type {name} (add its module to 'imports')"
            )
        else:
            classes.append(types.message_class(name))
    system = section.text("system")
    text_field = section.text("text_field", "text")
    extend_input = section.flag("extend_input", False)
    max_tokens = section.integer("max_tokens", 256, minimum=1)
    temperature = section.number("temperature", 0.0)
    raw_response = section.text("response")
    if raw_response and raw_response not in ("text", "json"):
        section.report("response", f"must be text or json, not {raw_response!r}")
    if extend_input and input_type != output_type:
        section.report(
            "extend_input", f"needs the same input and output type, not {input_type} -> "
            f"{output_type}"
        )  # fmt: skip
    if len(classes) < 2:
        section.text("prompt")
        return None
    input_class, output_class = classes
    input_descriptor = input_class.DESCRIPTOR
    prompt = section.text("prompt", "{text}" if "text" in input_descriptor.fields_by_name else "")
    if not prompt:
        section.report("prompt", f"missing; {input_type} has no `text` field to default to")
    _check_template(section, "prompt", prompt, input_descriptor, input_class)
    _check_template(section, "system", system, input_descriptor, input_class)
    # Text when a field is named for it, or when the output has a `text` field; else JSON.
    named = section.data.get("text_field") is not None
    has_text = "text" in output_class.DESCRIPTOR.fields_by_name
    response = raw_response or ("text" if named or has_text else "json")
    if response == "text":
        field = output_class.DESCRIPTOR.fields_by_name.get(text_field)
        finish = output_class.DESCRIPTOR.fields_by_name.get("finish_reason")
        if finish is not None and (finish.type != _FD.TYPE_STRING or finish.is_repeated):
            section.report(
                "response", f"{output_type}.finish_reason must be a string for the model's"
            )
        if field is None or field.type != _FD.TYPE_STRING or field.is_repeated:
            section.report(
                "text_field",
                f"{output_type} has no string field {text_field!r} for the completion's text"
                " (or set response: json)",
            )
    if len(section.problems.found) > before:
        return None
    return LlmContract(
        stage=section.stage,
        input_type=input_type,
        output_type=output_type,
        system=system,
        prompt=prompt,
        response="text" if response == "text" else "json",
        text_field=text_field,
        extend_input=extend_input,
        max_tokens=max_tokens,
        temperature=temperature,
        output_class=output_class,
    )


def chat_keys() -> frozenset[str]:
    """The section keys load_contract reads; each backend adds its own."""
    return _CHAT_KEYS


def _check_template(
    section: Section, key: str, template: str, msg: _Descriptor, cls: type[message.Message]
) -> None:
    """Every {field} exists, and the template renders (format specs included) for an input."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        section.report(key, f"is not a valid template: {exc} (write {{{{ for a brace)")
        return
    for _, path, _, _ in parts:
        if path is not None and path != _WHOLE_INPUT:
            problem = _path_problem(msg, path)
            if problem:
                section.report(key, f"{{{path}}}: {problem} (write {{{{ for a brace)")
                return
    try:
        render(template, cls())
    except (ValueError, TypeError, AttributeError) as exc:
        section.report(key, f"does not render for a {msg.full_name}: {exc}")


def _path_problem(msg: _Descriptor, path: str) -> str:
    current: _Descriptor = msg
    for part in path.split("."):
        if current is None:
            return f"{part!r} is inside a field that is not a message"
        field = current.fields_by_name.get(part)
        if field is None:
            known = ", ".join(current.fields_by_name) or "none"
            return f"{current.full_name} has no field {part!r} (fields: {known})"
        if field.is_repeated and part != path.split(".")[-1]:
            return f"{part!r} is a repeated field (or map): a path cannot go through it"
        current = field.message_type if field.type == _FD.TYPE_MESSAGE else None
    return ""


def json_schema(msg: _Descriptor, depth: int = 0) -> dict[str, object]:
    """A JSON Schema for `msg` in protobuf's JSON mapping, to constrain a model's output."""
    properties: dict[str, object] = {}
    for field in msg.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = _field_schema(field.message_type.fields_by_name["value"], depth)
            properties[field.json_name] = {"type": "object", "additionalProperties": value}
            continue
        schema = _field_schema(field, depth)
        properties[field.json_name] = (
            {"type": "array", "items": schema} if field.is_repeated else schema
        )
    return {"type": "object", "properties": properties}


def _field_schema(field: _Descriptor, depth: int) -> dict[str, object]:
    if field.type == _FD.TYPE_MESSAGE:
        if depth >= 4:  # recursive types: stop describing, accept any object
            return {"type": "object"}
        return json_schema(field.message_type, depth + 1)
    if field.type == _FD.TYPE_ENUM:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    if field.type == _FD.TYPE_BOOL:
        return {"type": "boolean"}
    if field.type in (_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE):
        return {"type": "number"}
    if field.type in (_FD.TYPE_STRING, _FD.TYPE_BYTES):
        return {"type": "string"}
    return {"type": "integer"}
