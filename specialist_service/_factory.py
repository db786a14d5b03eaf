"""Building the configured backend: one case per backend name, checked exhaustive by mypy."""

from __future__ import annotations

import importlib.util
from typing import TypeVar, assert_never

from specialist_service import _gguf, _oip, _oip_plan, _openai_plan, _python
from specialist_service._backend import Backend
from specialist_service._config import SpecialistConfig
from specialist_service._sections import read_section
from tutti.config import Problems, import_message_modules
from tutti.messages import MessageTypes

__all__ = ["build_backend"]


def build_backend(config: SpecialistConfig, types: MessageTypes | None = None) -> Backend:
    """Import or load the configured model; problems become one ConfigError naming each key."""
    types = types or MessageTypes()
    problems = config.problems()
    # Already imported when the config was loaded; a config built by hand may name others.
    import_message_modules(
        list(config.imports), lambda _, message: problems.report("imports", message)
    )
    problems.raise_if_any()
    name, version = config.name, config.version
    match config.backend:
        case "python":
            return _python.build(config, types)
        case "sklearn":
            _needs(problems, "sklearn", "sklearn", ("sklearn", "joblib"))
            from specialist_service import _sklearn

            return _sklearn.build(config, types)
        case "openai":
            _needs(problems, "openai", "openai", ("httpx",))
            from specialist_service import _openai

            return _openai.build(
                _plan(config, types, _openai_plan.OpenAIPlan), problems, name=name, version=version
            )
        case "gguf":
            return _gguf.build(
                _plan(config, types, _gguf.GgufPlan), problems, name=name, version=version
            )
        case "oip":
            return _oip.build(
                _plan(config, types, _oip_plan.OipPlan), problems, name=name, version=version
            )
        case _:
            assert_never(config.backend)


def _needs(problems: Problems, backend: str, extra: str, modules: tuple[str, ...]) -> None:
    """Fail with the install that is missing: the base install has no backend's libraries."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise problems.fail(
            "backend",
            f"the {backend} backend needs {', '.join(missing)}: pip install 'tutti[{extra}]'",
        )


P = TypeVar("P", _openai_plan.OpenAIPlan, _gguf.GgufPlan, _oip_plan.OipPlan)


def _plan(config: SpecialistConfig, types: MessageTypes, kind: type[P]) -> P:
    """The section's plan read at load, or read now for a config built without from_mapping."""
    plan = config.plan
    if plan is None:
        problems = config.problems()
        plan = read_section(
            config.backend,  # type: ignore[arg-type]  # the caller's case is a section backend
            config.section, problems, config.input, config.output, types, base_dir=config.base_dir,
        )  # fmt: skip
        problems.raise_if_any()
    if not isinstance(plan, kind):
        raise TypeError(f"the {config.backend} backend got a plan for another: {plan!r}")
    return plan
