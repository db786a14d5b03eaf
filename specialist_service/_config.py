"""A specialist's configuration: which model it hosts, its types and its model card.

Loading reads the whole file in one pass (top-level keys, `imports`, `price`
and the backend's own section) and raises one ConfigError listing every
problem found, each with its line and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from specialist_service._sections import (
    SECTION_BACKENDS,
    SectionPlan,
    read_section,
    section_backend,
)
from tutti.config import Price, Problems, import_message_modules, read_number
from tutti.errors import ConfigError, Problem
from tutti.located_yaml import LocatedList, LocatedMap, load_located, read_config_text
from tutti.messages import CLASSIFICATION, COMPLETION, MessageTypes

__all__ = [
    "BACKENDS",
    "CLASSIFICATION",
    "BackendName",
    "Price",
    "SpecialistConfig",
    "key_lines",
    "load_specialist_config",
]

BackendName = Literal["python", "sklearn", "openai", "oip", "gguf"]
BACKENDS: tuple[BackendName, ...] = get_args(BackendName)

_TEXT = "tutti.v1.Text"

_KEYS = frozenset(
    {
        "stage", "backend", "factory", "options", "model", "input", "output", "text_field",
        "name", "version", "price", "expected_latency_ms", "description", "imports",
        *SECTION_BACKENDS,
    }
)  # fmt: skip
# Keys that only make sense for one backend; naming them for the other is a mistake.
_BACKEND_KEYS: dict[str, frozenset[str]] = {
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
    # Modules imported for their message types before any type is resolved.
    imports: tuple[str, ...] = ()
    # The backend's own section (`openai:`, `oip:`, `gguf:`), and what reading it found.
    section: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    plan: SectionPlan | None = field(default=None, compare=False)
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

    def problems(self) -> Problems:
        """An empty list of problems located in this configuration's file."""
        return Problems(self.source, self.stage, self.lines)

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
        if not isinstance(data, Mapping):
            raise ConfigError(Problem(source, 0, "a specialist config must be a mapping", stage))
        named = data.get("stage")
        problems = Problems(source, named if isinstance(named, str) and named else stage, at)
        report = problems.report
        for key in data:
            if key not in _KEYS:
                report(str(key), f"unknown key; known keys are {', '.join(sorted(_KEYS))}")

        def text(key: str, default: str = "", required: bool = False) -> str:
            value = data.get(key)
            if value is None:
                if required:
                    report(key, "missing required key")
                return default
            if not isinstance(value, str) or not value:
                # YAML reads `version: 1.10` as the float 1.1; quoting keeps what was meant.
                report(key, f"must be a non-empty string (quote numbers), not {value!r}")
                return default
            return value

        stage = text("stage", stage, required=not stage)
        backend_text = text("backend", required=True)
        backend = next((name for name in BACKENDS if name == backend_text), None)
        if backend_text and backend is None:
            report(
                "backend",
                f"unknown backend {backend_text!r}; expected one of {', '.join(BACKENDS)}",
            )
        for key in data:
            for other, keys in _BACKEND_KEYS.items():
                if backend is not None and other != backend and key in keys:
                    report(str(key), f"only applies to the {other} backend, not {backend}")

        factory = text("factory", required=backend == "python")
        module, _, attribute = factory.partition(":")
        if factory and not (module and attribute and _dotted(module) and _dotted(attribute)):
            report("factory", f"{factory!r} is not of the form 'package.module:callable'")
        options = data.get("options", {})
        if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
            report("options", "must be a mapping of keyword arguments for the factory")
            options = {}

        model_text = text("model", required=backend == "sklearn")
        model: Path | None = None
        if model_text:
            model = Path(model_text).expanduser()
            if not model.is_absolute():
                model = (base_dir or Path.cwd()) / model

        default_input, default_output = _DEFAULT_TYPES.get(backend or "", ("", ""))
        input_type = text("input", default_input, required=backend == "oip")
        output_type = text("output", default_output, required=backend == "oip")
        if backend == "sklearn" and output_type != CLASSIFICATION:
            report("output", f"the sklearn backend answers {CLASSIFICATION}, not {output_type}")

        price = Price()
        if isinstance(data.get("price", {}), Mapping):
            price = Price.from_mapping(data.get("price", {}), problems.under("price"))  # type: ignore[arg-type]
        else:
            report("price", "must be a mapping such as {per_call_usd: 0.002}")
        if backend == "oip":
            for key in ("per_1k_input_tokens_usd", "per_1k_output_tokens_usd"):
                if getattr(price, key):
                    report(
                        f"price.{key}", "the inference protocol reports no tokens; price per call"
                    )
        latency = read_number(data, "expected_latency_ms", problems.under(""), minimum=0.0)

        imports = import_message_modules(
            data.get("imports"),
            lambda index, message: report(
                "imports", message, None if index is None else _item_line(data, index, at)
            ),
            base_dir,
        )

        section: Mapping[str, object] = {}
        plan: SectionPlan | None = None
        sectioned = section_backend(backend or "")
        if sectioned is not None:
            raw = data.get(sectioned, {})
            if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
                report(sectioned, f"must be a mapping of the {sectioned} backend's settings")
            else:
                section = raw
                plan = read_section(
                    sectioned, section, problems, input_type, output_type, MessageTypes(),
                    base_dir=base_dir or Path.cwd(),
                )  # fmt: skip
        problems.raise_if_any()
        assert backend is not None  # a missing or unknown backend was reported above
        return cls(
            stage=stage,
            backend=backend,
            factory=factory,
            options=MappingProxyType(dict(options)),
            model=model,
            input=input_type,
            output=output_type,
            text_field=text("text_field", "text"),
            name=text("name"),
            version=text("version"),
            price=price,
            expected_latency_ms=latency or 0.0,
            description=text("description"),
            imports=imports,
            section=MappingProxyType(dict(section)),
            plan=plan,
            base_dir=base_dir or Path.cwd(),
            source=source,
            lines=MappingProxyType(at),
        )


def _dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _item_line(data: Mapping[str, object], index: int, lines: Mapping[str, int]) -> int:
    items = data.get("imports")
    if isinstance(items, LocatedList):
        return items.line_of(index)
    return lines.get("imports", 0)


def load_specialist_config(path: str | Path, stage: str = "") -> SpecialistConfig:
    """Read a YAML file into a SpecialistConfig; errors name the file, line and key."""
    path = Path(path)
    source = str(path)
    content = read_config_text(path, stage)
    data, repeated = load_located(content, source)
    if repeated:
        raise ConfigError([Problem(source, p.line, p.message, stage) for p in repeated])
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
