"""The models of the user-typed composition: a keyword triage of an acme.v1.Ticket and
per-queue answers that carry the ticket's customer and urgency back."""

from __future__ import annotations

from acme.v1 import tickets_pb2

from tutti.v1 import payloads_pb2

QUEUES = {"billing": ("refund", "charged", "invoice"), "account": ("password", "login")}


class Triage:
    input_type = "acme.v1.Ticket"
    output_type = "tutti.v1.Classification"

    def predict(self, ticket: tickets_pb2.Ticket) -> payloads_pb2.Classification:
        text = f"{ticket.subject} {ticket.body}".lower()
        hits = {queue: sum(word in text for word in words) for queue, words in QUEUES.items()}
        queue = max(hits, key=lambda q: hits[q])
        total = sum(hits.values())
        confidence = hits[queue] / total if total else 0.0
        return payloads_pb2.Classification(label=queue, confidence=confidence)


class Answer:
    input_type = "acme.v1.Ticket"
    output_type = "acme.v1.Answer"

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def predict(self, ticket: tickets_pb2.Ticket) -> tickets_pb2.Answer:
        return tickets_pb2.Answer(
            queue=self.queue,
            reply=f"[{self.queue}] {ticket.subject}: tags {','.join(ticket.tags) or 'none'}",
            urgency=ticket.urgency,
            customer=ticket.customer,
            scores={self.queue: 1.0},
        )


def triage() -> Triage:
    return Triage()


def answer(queue: str) -> Answer:
    return Answer(queue)
