"""MergerService end to end: a real tutti.server.Server on 127.0.0.1:0 and a real stub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import any_pb2
from grpc import aio

import merger_service
from tutti.messages import pack
from tutti.server import Server, ServerOptions
from tutti.support.v1 import support_pb2
from tutti.v1 import merger_pb2, merger_pb2_grpc, payloads_pb2


@pytest.fixture
async def stub() -> AsyncIterator[merger_pb2_grpc.MergerServiceStub]:
    server = Server([merger_service.service()], ServerOptions(host="127.0.0.1", port=0))
    port = await server.start()
    channel = aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield merger_pb2_grpc.MergerServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)


def _candidate(name: str, label: str, confidence: float) -> merger_pb2.Candidate:
    return merger_pb2.Candidate(
        name=name, output=pack(payloads_pb2.Classification(label=label, confidence=confidence))
    )


async def _merge_error(
    stub: merger_pb2_grpc.MergerServiceStub, request: merger_pb2.MergeRequest
) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as raised:
        await stub.Merge(request)
    return raised.value


async def test_merge_returns_the_majority_decision_packed_with_its_winners(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    response = await stub.Merge(
        merger_pb2.MergeRequest(
            candidates=[
                _candidate("small", "billing", 0.6),
                _candidate("large", "outage", 0.9),
                _candidate("rules", "billing", 0.8),
            ],
            strategy=merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
        )
    )
    merged = payloads_pb2.Classification()
    assert response.output.Unpack(merged)
    assert merged.label == "billing"
    assert merged.confidence == pytest.approx(0.7)
    assert list(response.winners) == ["small", "rules"]


async def test_merge_of_triages_by_intent_returns_a_triage_with_weights_applied(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    def triage(name: str, label: str, confidence: float) -> merger_pb2.Candidate:
        msg = support_pb2.Triage(
            ticket=support_pb2.Ticket(id="t1", text="site is down"),
            intent=payloads_pb2.Classification(label=label, confidence=confidence),
            department=name,
        )
        return merger_pb2.Candidate(name=name, output=pack(msg))

    response = await stub.Merge(
        merger_pb2.MergeRequest(
            candidates=[triage("a", "billing", 0.6), triage("b", "outage", 0.5)],
            strategy=merger_pb2.MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE,
            field="intent",
            weights={"b": 2.0},
        )
    )
    merged = support_pb2.Triage()
    assert response.output.Unpack(merged)
    assert (merged.intent.label, merged.department, merged.ticket.id) == ("outage", "b", "t1")
    assert list(response.winners) == ["b"]


async def test_candidates_of_mixed_types_are_invalid_argument_naming_the_candidate(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    odd = merger_pb2.Candidate(name="gen", output=pack(payloads_pb2.Text(text="billing")))
    error = await _merge_error(
        stub,
        merger_pb2.MergeRequest(
            candidates=[_candidate("clf", "billing", 0.6), odd],
            strategy=merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
        ),
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "candidates[1].output" in (error.details() or "")
    assert "tutti.v1.Text" in (error.details() or "")


async def test_no_candidates_is_invalid_argument(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    error = await _merge_error(
        stub, merger_pb2.MergeRequest(strategy=merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE)
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("candidates:")


async def test_unspecified_strategy_is_invalid_argument_naming_strategy(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    error = await _merge_error(
        stub, merger_pb2.MergeRequest(candidates=[_candidate("a", "billing", 0.6)])
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("strategy:")


async def test_a_field_that_leads_nowhere_is_invalid_argument_naming_field(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    error = await _merge_error(
        stub,
        merger_pb2.MergeRequest(
            candidates=[_candidate("a", "billing", 0.6)],
            strategy=merger_pb2.MERGE_STRATEGY_HIGHEST_CONFIDENCE,
            field="intent",
        ),
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("field:")


async def test_a_payload_of_a_type_the_merger_does_not_know_is_invalid_argument(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    unknown = any_pb2.Any(type_url="type.googleapis.com/acme.v1.Mystery", value=b"")
    error = await _merge_error(
        stub,
        merger_pb2.MergeRequest(
            candidates=[merger_pb2.Candidate(name="a", output=unknown)],
            strategy=merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
        ),
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "acme.v1.Mystery" in (error.details() or "")


async def test_first_valid_with_every_candidate_invalid_is_invalid_argument(
    stub: merger_pb2_grpc.MergerServiceStub,
) -> None:
    error = await _merge_error(
        stub,
        merger_pb2.MergeRequest(
            candidates=[_candidate("a", "billing", 1.5)],
            strategy=merger_pb2.MERGE_STRATEGY_FIRST_VALID,
        ),
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "candidates[0].output.confidence" in (error.details() or "")


def test_imports_register_the_candidates_types_before_the_merger_serves() -> None:
    """In a fresh interpreter: without the import the type is unknown, with it the merger has it."""
    import subprocess
    import sys

    script = (
        "import merger_service\n"
        "from tutti.messages import MessageTypes\n"
        "assert not MessageTypes().knows('google.protobuf.SourceContext')\n"
        "merger_service.service(imports=['google.protobuf.source_context_pb2'])\n"
        "assert MessageTypes().knows('google.protobuf.SourceContext')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_an_import_that_fails_is_a_config_error_worded_as_a_compositions() -> None:
    from tutti.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        merger_service.service(imports=["tests.no_such_pb2"], source="desk.yaml")
    assert str(caught.value).startswith(
        "desk.yaml: cannot import 'tests.no_such_pb2' for its message types: ModuleNotFoundError"
    )
