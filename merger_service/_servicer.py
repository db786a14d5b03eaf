"""MergerService over gRPC: decode the candidates, merge them, pack the result."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import message
from grpc import aio

from merger_service._strategies import Strategy, merge
from tutti.errors import RequestError
from tutti.messages import MessageTypes, pack, type_name_of
from tutti.v1 import merger_pb2, merger_pb2_grpc

__all__ = ["MergerServicer"]

_STRATEGIES: dict[int, Strategy] = {
    merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE: Strategy.MAJORITY_VOTE,
    merger_pb2.MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE: Strategy.CONFIDENCE_WEIGHTED_VOTE,
    merger_pb2.MERGE_STRATEGY_PROBABILITY_AVERAGE: Strategy.PROBABILITY_AVERAGE,
    merger_pb2.MERGE_STRATEGY_HIGHEST_CONFIDENCE: Strategy.HIGHEST_CONFIDENCE,
    merger_pb2.MERGE_STRATEGY_FIRST_VALID: Strategy.FIRST_VALID,
}


class MergerServicer(merger_pb2_grpc.MergerServiceServicer):
    """Thin adapter: the merge itself is `merger_service.merge`, plain Python."""

    def __init__(self, types: MessageTypes | None = None) -> None:
        self._types = types if types is not None else MessageTypes()

    async def Merge(
        self,
        request: merger_pb2.MergeRequest,
        context: aio.ServicerContext[merger_pb2.MergeRequest, merger_pb2.MergeResponse],
    ) -> merger_pb2.MergeResponse:
        candidates = self._decode(request.candidates)
        strategy = _strategy(request.strategy)
        merged = merge(candidates, strategy, field=request.field, weights=dict(request.weights))
        return merger_pb2.MergeResponse(output=pack(merged.output), winners=merged.winners)

    def _decode(
        self, candidates: Sequence[merger_pb2.Candidate]
    ) -> list[tuple[str, message.Message]]:
        """Unpack every candidate as the type the first one holds."""
        if not candidates:
            raise RequestError("candidates", "is empty; send at least one candidate")
        for index, candidate in enumerate(candidates):
            if not candidate.output.type_url:
                raise RequestError(f"candidates[{index}].output", "is empty; pack a message in it")
        full_name = type_name_of(candidates[0].output)
        if not self._types.knows(full_name):
            raise RequestError("candidates[0].output", f"holds {full_name}, a type unknown here")
        return [
            (c.name, self._types.unpack(c.output, full_name, f"candidates[{index}].output"))
            for index, c in enumerate(candidates)
        ]


def _strategy(value: int) -> Strategy:
    strategy = _STRATEGIES.get(value)
    if strategy is None:
        known = ", ".join(merger_pb2.MergeStrategy.Name(v) for v in _STRATEGIES)
        what = "is unspecified" if value == 0 else f"is {value}, not a known strategy"
        raise RequestError("strategy", f"{what}; choose one of {known}")
    return strategy
