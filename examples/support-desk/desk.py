"""The support desk's stage models: intent classifiers that enrich a Ticket into a Triage, and the responder.

The specialist service's `python` backend hosts these (see composition.yaml);
the model files they load are trained by `tutti train` (or `tutti demo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import yaml

from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2

HERE = Path(__file__).resolve().parent


def _departments(path: str) -> dict[str, str]:
    """Label -> department."""
    data = yaml.safe_load((HERE / path).read_text(encoding="utf-8"))
    return {label: department for department, labels in data.items() for label in labels}


class IntentModel:
    """Classifies a ticket's intent and returns it with the ticket and its department."""

    input_type = "tutti.support.v1.Ticket"
    output_type = "tutti.support.v1.Triage"

    def __init__(
        self, model: str, department: str = "", departments: str = "departments.yaml"
    ) -> None:
        folder = HERE / model
        self.pipeline: Any = joblib.load(folder / "model.joblib")
        self.version = str(yaml.safe_load((folder / "model.json").read_text())["version"])
        self.name = folder.name
        self.classes = [str(c) for c in self.pipeline.classes_]
        self.department = department
        self.owner = _departments(departments)
        # Load lazily-loaded weights (the strong model's embeddings) before serving.
        self.pipeline.predict_proba(["warm up"])

    def predict(self, ticket: support_pb2.Ticket) -> support_pb2.Triage:
        probabilities = self.pipeline.predict_proba([ticket.text])[0]
        best = int(probabilities.argmax())
        label = self.classes[best]
        intent = payloads_pb2.Classification(
            label=label,
            confidence=float(probabilities[best]),
            scores={
                c: float(p) for c, p in zip(self.classes, probabilities, strict=True) if p >= 1e-4
            },
        )
        department = self.department or self.owner.get(label, "")
        return support_pb2.Triage(ticket=ticket, intent=intent, department=department)


class Responder:
    """Drafts the reply from the intent's macro and decides whether a person must take over.

    A macro marked `always` goes to a person every time (suspected fraud,
    unrecognised payments); `when_unsure` goes to a person when the intent's
    confidence is under `settle_confidence`, since settling the wrong
    dispute costs more than a human look.
    """

    input_type = "tutti.support.v1.Triage"
    output_type = "tutti.support.v1.Resolution"
    name = "macro-responder"

    def __init__(self, macros: str = "macros.yaml", settle_confidence: float = 0.8) -> None:
        data = yaml.safe_load((HERE / macros).read_text(encoding="utf-8"))["macros"]
        self.macros: dict[str, dict[str, str]] = {str(k): v for k, v in data.items()}
        self.settle_confidence = settle_confidence

    def predict(self, triage: support_pb2.Triage) -> support_pb2.Resolution:
        label = triage.intent.label
        macro = self.macros.get(label)
        if macro is None:
            return support_pb2.Resolution(
                triage=triage,
                reply="Thanks for your message; a member of our team will pick it up shortly.",
                escalate_to_human=True,
                macro="",
            )
        human = macro["human"] == "always" or (
            macro["human"] == "when_unsure" and triage.intent.confidence < self.settle_confidence
        )
        return support_pb2.Resolution(
            triage=triage, reply=macro["reply"], escalate_to_human=human, macro=label
        )


def intent_model(
    model: str, department: str = "", departments: str = "departments.yaml"
) -> IntentModel:
    return IntentModel(model, department, departments)


def responder(macros: str = "macros.yaml", settle_confidence: float = 0.8) -> Responder:
    return Responder(macros, settle_confidence)
