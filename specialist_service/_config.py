"""A specialist's configuration: which model it hosts, its types and its model card."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from tutti.config import Price
from tutti.errors import ConfigError, Problem
from tutti.located_yaml import LocatedMap, load_located
from tutti.messages import CLASSIFICATION, COMPLETION

__all__ = [
    "BACKENDS",
    "CLASSIFICATION",
    "Price",
    "SpecialistConfig",
    "key_lines",
    "load_specialist_config",
]

BackendName = Literal["python", "sklearn", "openai", "oip", "gguf"]
BACKENDS: tuple[BackendName, ...] = get_args(BackendName)
# Backends configured by a section of their own, named after them (`openai: {...}`).
SECTION_BACKENDS = ("openai", "oip", "gguf")

_TEXT = "tutti.v1.Text"

_KEYS = frozenset(
    {
        "stage", "backend", "factory", "options", "model", "input", "output", "text_field",
        "name", "version", "price", "expected_latency_ms", "description",
        *SECTION_BACKENDS,
    }
)  # fmt: skip
_PRICE_KEYS = ("per_call_usd", "per_1k_input_tokens_usd", "per_1k_output_tokens_usd")
# Keys that only make sense for one backend; naming them for the other is a mistake.
_BACKEND_KEYS = {
    "python": frozenset({"factory", "options"}),
    "sklearn": frozenset({"model", "text_field"}),
    **{name: frozenset({name}) for name in SECTION_BACKENDS},
}
# Types a backend assumes when the config names none.
_DEFAULT_TYPES: dict[str, tuple[str, str]] = {
    "sklearn": (_TEXT, CLASSIFICATION),
    "openai": (_TEXT, COMPLETION),
    "gguf": (_TEXT, COMPLETION),
}


@dataclass(frozen=True)
class SpecialistConfig:
    """One hosted model, validated as far as it can be without importing or loading it.

    `input`, `output`, `name` and `version` may be empty: the backend fills
    them from the model (a factory's declared types, a model file's hash).
    """

    stage: str
    backend: BackendName
    factory: str = ""
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    model: Path | None = None
    input: str = ""
    output: str = ""
    text_field: str = "text"
    name: str = ""
    version: str = ""
    price: Price = field(default_factory=Price)
    expected_latency_ms: float = 0.0
    description: str = ""
    # The backend's own section (`openai:`, `oip:`, `gguf:`), checked by that backend.
    section: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # Relative paths in the section resolve against this folder.
    base_dir: Path = field(default_factory=Path.cwd)
    # Where the configuration came from, so later errors can point at it.
    source: str = "<config>"
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def error(self, key: str, message: str) -> ConfigError:
        """A ConfigError about `key`, pointing at this configuration's file and line."""
        return ConfigError(
            Problem(self.source, self.lines.get(key, 0), f"{key}: {message}", self.stage)
        )

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, object],
        source: str = "<config>",
        stage: str = "",
        *,
        base_dir: Path | None = None,
        lines: Mapping[str, int] | None = None,
    ) -> SpecialistConfig:
        """Validate `data`; `stage` names the stage when `data` has no `stage` key.

        Relative `model` paths resolve against `base_dir` (the config file's
        directory), or the working directory when it is None.
        """
        at = dict(lines or {})

        def fail(key: str, message: str) -> ConfigError:
            return ConfigError(Problem(source, at.get(key, 0), f"{key}: {message}", stage))

        if not isinstance(data, Mapping):
            raise ConfigError(Problem(source, 0, "a specialist config must be a mapping", stage))
        for key in data:
            if key not in _KEYS:
                raise fail(str(key), f"unknown key; known keys are {', '.join(sorted(_KEYS))}")

        def text(key: str, default: str = "", required: bool = False) -> str:
            value = data.get(key)
            if value is None:
                if required:
                    raise fail(key, "missing required key")
                return default
            if not isinstance(value, str) or not value:
                # YAML reads `version: 1.10` as the float 1.1; quoting keeps what was meant.
                raise fail(key, f"must be a non-empty string (quote numbers), not {value!r}")
            return value

        def number(mapping: Mapping[str, object], key: str, path: str) -> float:
            value = mapping.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise fail(path, f"must be a number >= 0, not {value!r}")
            # `.nan < 0` is False, so a NaN or infinite price would otherwise pass.
            if not math.isfinite(value):
                raise fail(path, f"must be a finite number, not {value!r}")
            if value < 0:
                raise fail(path, f"must be a number >= 0, not {value!r}")
            return float(value)

        stage = text("stage", stage, required=not stage)
        backend = text("backend", required=True)
        if backend not in BACKENDS:
            raise fail(
                "backend", f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}"
            )
        for key in data:
            for other, keys in _BACKEND_KEYS.items():
                if other != backend and key in keys:
                    raise fail(key, f"only applies to the {other} backend, not {backend}")

        factory = text("factory", required=backend == "python")
        module, _, attribute = factory.partition(":")
        if factory and (
            not module or not attribute or not _dotted(module) or not _dotted(attribute)
        ):
            raise fail("factory", f"{factory!r} is not of the form 'package.module:callable'")
        options = data.get("options", {})
        if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
            raise fail("options", "must be a mapping of keyword arguments for the factory")

        model_text = text("model", required=backend == "sklearn")
        model: Path | None = None
        if model_text:
            model = Path(model_text).expanduser()
            if not model.is_absolute():
                model = (base_dir or Path.cwd()) / model

        default_input, default_output = _DEFAULT_TYPES.get(backend, ("", ""))
        input_type = text("input", default_input, required=backend == "oip")
        output_type = text("output", default_output, required=backend == "oip")
        if backend == "sklearn" and output_type != CLASSIFICATION:
            raise fail("output", f"the sklearn backend answers {CLASSIFICATION}, not {output_type}")

        price_data = data.get("price", {})
        if not isinstance(price_data, Mapping):
            raise fail("price", "must be a mapping with " + ", ".join(_PRICE_KEYS))
        for key in price_data:
            if key not in _PRICE_KEYS:
                raise fail(f"price.{key}", f"unknown key; known keys are {', '.join(_PRICE_KEYS)}")
        price = Price(*(number(price_data, key, f"price.{key}") for key in _PRICE_KEYS))

        section = data.get(backend, {}) if backend in SECTION_BACKENDS else {}
        if not isinstance(section, Mapping) or not all(isinstance(k, str) for k in section):
            raise fail(backend, f"must be a mapping of the {backend} backend's settings")

        return cls(
            stage=stage,
            backend=BACKENDS[BACKENDS.index(backend)],  # the same string, typed as a name
            factory=factory,
            options=MappingProxyType(dict(options)),
            model=model,
            input=input_type,
            output=output_type,
            text_field=text("text_field", "text"),
            name=text("name"),
            version=text("version"),
            price=price,
            expected_latency_ms=number(data, "expected_latency_ms", "expected_latency_ms"),
            description=text("description"),
            section=MappingProxyType(dict(section)),
            base_dir=base_dir or Path.cwd(),
            source=source,
            lines=MappingProxyType(at),
        )


def _dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def load_specialist_config(path: str | Path, stage: str = "") -> SpecialistConfig:
    """Read a YAML file into a SpecialistConfig; errors name the file, line and key."""
    path = Path(path)
    source = str(path)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(Problem(source, 0, f"cannot read: {exc.strerror or exc}", stage)) from exc
    data, repeated = load_located(content, source)
    if repeated:
        first = repeated[0]
        raise ConfigError(Problem(source, first.line, first.message, stage))
    if not isinstance(data, LocatedMap):
        raise ConfigError(Problem(source, 1, "a specialist config must be a mapping", stage))
    return SpecialistConfig.from_mapping(
        data, source, stage, base_dir=path.resolve().parent, lines=key_lines(data)
    )


def key_lines(data: Mapping[str, object]) -> dict[str, int]:
    """1-based line of each top-level key, and of `<section>.<key>` for the nested mappings
    (price, a backend's section, and theirs), where the YAML loader kept them."""
    if not isinstance(data, LocatedMap):
        return {}
    lines = dict(data.key_lines)

    def nested(prefix: str, value: object) -> None:
        if isinstance(value, LocatedMap):
            for key, line in value.key_lines.items():
                lines[f"{prefix}.{key}"] = line
                nested(f"{prefix}.{key}", value.get(key))

    for key in ("price", *SECTION_BACKENDS):
        nested(key, data.get(key))
    return lines
