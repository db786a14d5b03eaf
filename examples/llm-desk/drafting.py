"""The LLM desk's own stage models, and the support desk's, loaded from examples/support-desk.

The support desk's models (intent classifiers, the macro responder) are reused
as they are; this desk adds a gate that sends only the tickets handed over to a
person to the LLM, which drafts a reply for that person to review.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2

_DESK = Path(__file__).resolve().parent.parent / "support-desk" / "desk.py"
_spec = importlib.util.spec_from_file_location("support_desk", _DESK)
assert _spec is not None and _spec.loader is not None, f"cannot load {_DESK}"
support_desk = importlib.util.module_from_spec(_spec)
sys.modules["support_desk"] = support_desk
_spec.loader.exec_module(support_desk)

# The support desk's factories, under the names its composition uses.
intent_model = support_desk.intent_model
responder = support_desk.responder

HANDED_OVER = "handed_over"
SENT = "sent"


class Handover:
    """Classifies a resolution by who answers it: a person (`handed_over`) or the macro (`sent`)."""

    input_type = "tutti.support.v1.Resolution"
    output_type = "tutti.v1.Classification"
    name = "handover-gate"
    version = "1"

    def predict(self, resolution: support_pb2.Resolution) -> payloads_pb2.Classification:
        label = HANDED_OVER if resolution.escalate_to_human else SENT
        return payloads_pb2.Classification(label=label, confidence=1.0, scores={label: 1.0})


class Unchanged:
    """The macro's reply stands: the resolution passes through as it came."""

    input_type = "tutti.support.v1.Resolution"
    output_type = "tutti.support.v1.Resolution"
    name = "macro-reply"
    version = "1"

    def predict(self, resolution: support_pb2.Resolution) -> support_pb2.Resolution:
        return resolution


def handover() -> Handover:
    return Handover()


def unchanged() -> Unchanged:
    return Unchanged()
