"""The quickstart's models: a keyword triage and templated replies, small enough to read at a glance.

Each factory returns an object with `predict(message) -> message`; the
specialist service's `python` backend hosts it (see composition.yaml).
"""

from __future__ import annotations

from tutti.v1 import payloads_pb2

KEYWORDS = {
    "account": ("password", "log in", "login", "email", "account", "username"),
    "billing": ("charged", "refund", "billed", "invoice", "payment", "subscription"),
    "shipping": ("package", "delivery", "shipping", "parcel", "arrived", "order"),
}

REPLIES = {
    "account": "To reset your password, open Settings > Security and choose 'Reset password'.",
    "billing": "We have opened a billing review; duplicate charges are refunded within 5 days.",
    "shipping": "Your parcel is on its way; tracking details are in your order history.",
    "general": "Thanks for writing in; a member of our team will read your message today.",
}


class Triage:
    """Scores each department by the keywords found; confidence is the winner's share."""

    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Classification"

    def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Classification:
        text = message.text.lower()
        hits = {label: sum(word in text for word in words) for label, words in KEYWORDS.items()}
        total = sum(hits.values())
        if total == 0:
            scores = {label: 1.0 / len(KEYWORDS) for label in KEYWORDS}
        else:
            scores = {label: count / total for label, count in hits.items()}
        label = max(scores, key=lambda k: scores[k])
        return payloads_pb2.Classification(label=label, confidence=scores[label], scores=scores)


class Reply:
    """Answers with the department's template."""

    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Text"

    def __init__(self, department: str) -> None:
        self.reply = REPLIES[department]

    def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Text:
        return payloads_pb2.Text(text=self.reply)


class SignOff:
    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Text"

    def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Text:
        return payloads_pb2.Text(text=f"{message.text}\n\n-- The Tutti support team")


def triage() -> Triage:
    return Triage()


def reply(department: str) -> Reply:
    return Reply(department)


def sign_off() -> SignOff:
    return SignOff()
