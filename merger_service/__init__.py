"""The merger service: combine a fan-out's candidate answers into one.

`merge` is the plain-Python merge that a unit test or an in-process
composition can call; `service()` wraps it for `tutti.server.Server`.
"""

from __future__ import annotations

from collections.abc import Sequence

from merger_service._servicer import MergerServicer
from merger_service._strategies import CLASSIFICATION, Merged, Strategy, merge
from tutti.config import Problems, import_message_modules
from tutti.messages import MessageTypes
from tutti.server import Service

__all__ = [
    "CLASSIFICATION",
    "SERVICE_NAME",
    "Merged",
    "MergerServicer",
    "Strategy",
    "merge",
    "service",
]

SERVICE_NAME = "tutti.v1.MergerService"


def service(
    types: MessageTypes | None = None, imports: Sequence[str] = (), source: str = "<merger>"
) -> Service:
    """The merger as a Service for `tutti.server.Server`.

    Candidates are decoded by their type's name, so the module defining it
    must be imported: `imports` names such modules, as a composition's
    `imports:` does, and a failure is a ConfigError in the same words
    (`source` says where the list came from, e.g. the composition file).
    """
    problems = Problems(source)
    import_message_modules(list(imports), lambda _, message: problems.add("", message))
    problems.raise_if_any()
    return Service(
        name=SERVICE_NAME,
        servicer=MergerServicer(types),
    )
