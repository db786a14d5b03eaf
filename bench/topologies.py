"""The benchmark's three topologies as compositions of trivial stages, and their payload."""

from __future__ import annotations

__all__ = ["DESCRIBE", "PAYLOAD_BYTES", "TOPOLOGIES", "composition_text", "text_payload"]

PAYLOAD_BYTES = 1024
TOPOLOGIES = ("route", "fanout", "sequence")
DESCRIBE = {
    "route": "client -> router -> 1 stage",
    "fanout": "fan-out 3 + merge (first_valid)",
    "sequence": "sequence of 5 stages",
}

_STAGE = '{{endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: {out}, validate: false, serve: {{backend: python, factory: "stages:{factory}"}}}}'
_HEAD = """composition: bench_{name}
input: tutti.v1.Text
output: {out}
budget: {{latency_ms: 30000, cost_usd: 1000.0}}
stages:
"""


def composition_text(name: str, validate: bool = False) -> str:
    text = _composition_text(name)
    return text.replace("validate: false", "validate: true") if validate else text


def _composition_text(name: str) -> str:
    if name == "route":
        text = _HEAD.format(name=name, out="tutti.v1.Text")
        text += "  echo: " + _STAGE.format(out="tutti.v1.Text", factory="echo") + "\n"
        return text + "flow: echo\n"
    if name == "fanout":
        text = _HEAD.format(name=name, out="tutti.v1.Classification")
        for i in (1, 2, 3):
            text += (
                f"  c{i}: "
                + _STAGE.format(out="tutti.v1.Classification", factory="classify")
                + "\n"
            )
        text += '  merger: {endpoint: "127.0.0.1:1", kind: merger}\n'
        return text + (
            "flow:\n  fanout:\n    branches: [c1, c2, c3]\n"
            "    merge: {by: merger, strategy: first_valid}\n"
        )
    if name == "sequence":
        text = _HEAD.format(name=name, out="tutti.v1.Text")
        for i in range(1, 6):
            text += f"  s{i}: " + _STAGE.format(out="tutti.v1.Text", factory="echo") + "\n"
        return text + "flow:\n  sequence: [s1, s2, s3, s4, s5]\n"
    raise ValueError(name)


def text_payload() -> bytes:
    from tutti.v1 import payloads_pb2

    return payloads_pb2.Text(text="x" * PAYLOAD_BYTES).SerializeToString()
