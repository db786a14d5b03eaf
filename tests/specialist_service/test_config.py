"""Specialist configs: what they accept, and errors that name the file, line and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specialist_service import Price, SpecialistConfig, build_backend, load_specialist_config
from tutti.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "specialist.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ECHO = "stage: echo\nbackend: python\nfactory: tests.stages:echo\n"


def test_full_python_config_loads_into_frozen_dataclasses(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ECHO + "options: {input_type: tutti.support.v1.Ticket}\n"
        "input: tutti.support.v1.Ticket\noutput: tutti.support.v1.Ticket\n"
        "name: echo-model\nversion: '1.10'\n"
        "price: {per_call_usd: 0.002, per_1k_input_tokens_usd: 0.5}\n"
        "expected_latency_ms: 12\ndescription: says it back\n",
    )
    config = load_specialist_config(path)
    assert config.stage == "echo"
    assert config.options == {"input_type": "tutti.support.v1.Ticket"}
    assert config.version == "1.10"
    assert config.price == Price(per_call_usd=0.002, per_1k_input_tokens_usd=0.5)
    assert config.expected_latency_ms == 12.0
    assert config.source == str(path)
    with pytest.raises(AttributeError):
        config.stage = "other"  # type: ignore[misc]


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, ECHO + "colour: blue\n")
    with pytest.raises(ConfigError) as caught:
        load_specialist_config(path)
    assert f"{path}:4:" in str(caught.value)
    assert "colour: unknown key" in str(caught.value)


def test_unknown_price_key_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, ECHO + "price:\n  per_call: 0.1\n")
    with pytest.raises(ConfigError, match=r"specialist\.yaml:5: .*unknown price key 'per_call'"):
        load_specialist_config(path)


def test_negative_price_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, ECHO + "price: {per_call_usd: -1}\n")
    with pytest.raises(ConfigError, match=r"'per_call_usd' must be at least 0, not -1"):
        load_specialist_config(path)


@pytest.mark.parametrize(
    ("yaml", "key", "line"),
    [
        ("price: {per_call_usd: .nan}\n", "per_call_usd", 4),
        ("price:\n  per_1k_input_tokens_usd: .inf\n", "per_1k_input_tokens_usd", 5),
        ("expected_latency_ms: .inf\n", "expected_latency_ms", 4),
    ],
)
def test_a_price_or_latency_that_is_not_finite_is_rejected(
    tmp_path: Path, yaml: str, key: str, line: int
) -> None:
    path = write(tmp_path, ECHO + yaml)
    with pytest.raises(
        ConfigError, match=rf"specialist\.yaml:{line}: .*'{key}' must be a finite number"
    ):
        load_specialist_config(path)


def test_python_backend_without_factory_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: echo\nbackend: python\n")
    with pytest.raises(
        ConfigError, match=r"specialist\.yaml: stage 'echo': factory: missing required key"
    ):
        load_specialist_config(path)


def test_unknown_backend_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: echo\nbackend: torch\n")
    with pytest.raises(ConfigError) as caught:
        load_specialist_config(path)
    assert f"{path}:2:" in str(caught.value)
    assert "backend: unknown backend 'torch'" in str(caught.value)


def test_key_of_the_other_backend_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, ECHO + "model: intent.joblib\n")
    with pytest.raises(ConfigError, match="model: only applies to the sklearn backend"):
        load_specialist_config(path)


def test_malformed_factory_path_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: echo\nbackend: python\nfactory: tests.stages.echo\n")
    with pytest.raises(
        ConfigError, match=r"specialist\.yaml:3: .*factory: 'tests.stages.echo' is not"
    ):
        load_specialist_config(path)


def test_unimportable_factory_module_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: echo\nbackend: python\nfactory: tests.no_such_module:echo\n")
    config = load_specialist_config(path)
    with pytest.raises(ConfigError) as caught:
        build_backend(config)
    assert f"{path}:3:" in str(caught.value)
    assert "factory: cannot import tests.no_such_module" in str(caught.value)


def test_missing_factory_attribute_names_the_key(tmp_path: Path) -> None:
    config = load_specialist_config(
        write(tmp_path, "stage: e\nbackend: python\nfactory: tests.stages:nope\n")
    )
    with pytest.raises(ConfigError, match=r"factory: tests\.stages has no attribute nope"):
        build_backend(config)


def test_factory_rejecting_its_options_is_a_config_error(tmp_path: Path) -> None:
    config = load_specialist_config(write(tmp_path, ECHO + "options: {colour: blue}\n"))
    with pytest.raises(
        ConfigError, match=r"factory: tests.stages:echo\(\*\*options\) failed: TypeError"
    ):
        build_backend(config)


def test_unknown_message_type_names_the_key(tmp_path: Path) -> None:
    config = load_specialist_config(write(tmp_path, ECHO + "input: acme.v1.Nothing\n"))
    with pytest.raises(ConfigError, match=r":4: .*input: unknown message type acme.v1.Nothing"):
        build_backend(config)


def test_python_backend_takes_types_from_the_model_and_defaults_its_card() -> None:
    config = SpecialistConfig.from_mapping(
        {"backend": "python", "factory": "tests.stages:keyword_classifier",
         "imports": ["tutti.support.v1.support_pb2"],
         "options": {"rules": {"refund": "billing"}, "default": "other",
                     "input_type": "tutti.support.v1.Ticket"}},
        stage="triage",
    )  # fmt: skip
    backend = build_backend(config)
    assert config.stage == "triage"
    assert (backend.input_type, backend.output_type) == (
        "tutti.support.v1.Ticket",
        "tutti.v1.Classification",
    )
    assert (backend.name, backend.version) == ("tests.stages:keyword_classifier", "0")


def test_mapping_without_stage_or_stage_argument_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"<config>: stage: missing required key"):
        SpecialistConfig.from_mapping({"backend": "python", "factory": "tests.stages:echo"})


def test_sklearn_output_must_be_classification(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: s\nbackend: sklearn\nmodel: m.joblib\noutput: tutti.v1.Text\n")
    with pytest.raises(
        ConfigError, match=r"specialist\.yaml:4: .*output: the sklearn backend answers"
    ):
        load_specialist_config(path)


def test_sklearn_model_path_resolves_against_the_config_directory(tmp_path: Path) -> None:
    config = load_specialist_config(
        write(tmp_path, "stage: s\nbackend: sklearn\nmodel: models/m.joblib\n")
    )
    assert config.model == tmp_path.resolve() / "models" / "m.joblib"
    assert (config.input, config.output, config.text_field) == (
        "tutti.v1.Text",
        "tutti.v1.Classification",
        "text",
    )


def test_missing_model_file_names_the_key(tmp_path: Path) -> None:
    config = load_specialist_config(
        write(tmp_path, "stage: s\nbackend: sklearn\nmodel: gone.joblib\n")
    )
    with pytest.raises(ConfigError, match=r"specialist\.yaml:3: stage 's': model: cannot read"):
        build_backend(config)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: s\nbackend: [python\n")
    with pytest.raises(ConfigError, match=r"specialist\.yaml:3: invalid YAML"):
        load_specialist_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read"):
        load_specialist_config(tmp_path / "absent.yaml")


def test_repeated_key_is_rejected_at_its_second_line(tmp_path: Path) -> None:
    path = write(tmp_path, ECHO + "stage: again\n")
    with pytest.raises(ConfigError, match=r"specialist\.yaml:4: duplicate key .stage."):
        load_specialist_config(path)


def test_every_mistake_of_the_file_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    """Top-level keys, the price and the backend's section: one error lists them all."""
    path = write(
        tmp_path,
        "stage: drafter\n"  # 1
        "backend: openai\n"  # 2
        "colour: blue\n"  # 3
        "price: {per_call_usd: -1}\n"  # 4
        "expected_latency_ms: .inf\n"  # 5
        "openai:\n"  # 6
        "  base_url: 127.0.0.1:8080\n"  # 7
        "  model: m\n"  # 8
        "  max_tokens: -3\n"  # 9
        "  modle: m\n"  # 10
        "  retry: {tries: 2}\n",  # 11
    )
    with pytest.raises(ConfigError) as caught:
        load_specialist_config(path)
    found = {(p.line, p.message.partition(":")[0]) for p in caught.value.problems}
    assert found >= {
        (3, "colour"),
        (4, "'per_call_usd' must be at least 0, not -1"),
        (5, "'expected_latency_ms' must be a finite number, not inf"),
        (7, "openai.base_url"),
        (9, "openai.max_tokens"),
        (10, "openai.modle"),
        (11, "openai.retry.tries"),
    }
    assert len(caught.value.problems) == 7
    for problem in caught.value.problems:
        assert f"{path}:{problem.line}: stage 'drafter': " in str(caught.value)


def test_imports_register_message_types_before_they_are_resolved(tmp_path: Path) -> None:
    """In a fresh interpreter, where nothing else has imported the module defining the type."""
    path = write(
        tmp_path,
        "stage: s\nbackend: openai\nimports: [google.protobuf.source_context_pb2]\n"
        "input: google.protobuf.SourceContext\noutput: tutti.v1.Completion\n"
        "openai: {base_url: 'http://127.0.0.1:1/v1', model: m, prompt: '{file_name}'}\n",
    )
    script = (
        "import sys\n"
        "from specialist_service import build_backend, load_specialist_config\n"
        "from tutti.messages import MessageTypes\n"
        "assert not MessageTypes().knows('google.protobuf.SourceContext')\n"
        "config = load_specialist_config(sys.argv[1])\n"
        "print(config.imports, build_backend(config).input_type)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "('google.protobuf.source_context_pb2',)",
        "google.protobuf.SourceContext",
    ]
    without = write(tmp_path, path.read_text().replace("imports", "description"), "plain.yaml")
    failed = subprocess.run(
        [sys.executable, "-c", script, str(without)], capture_output=True, text=True, check=False
    )
    assert "input: unknown message type google.protobuf.SourceContext" in failed.stderr


@pytest.mark.parametrize(
    ("yaml", "line", "message"),
    [
        (
            "imports: tests.stages\n",
            4,
            "'imports' must be a list of module names such as [acme.v1.orders_pb2]",
        ),
        (
            "imports:\n  - tests.stages\n  - tests.no_such_pb2\n",
            6,
            "cannot import 'tests.no_such_pb2' for its message types: ModuleNotFoundError",
        ),
    ],
)
def test_imports_that_fail_are_reported_as_a_composition_reports_them(
    tmp_path: Path, yaml: str, line: int, message: str
) -> None:
    path = write(tmp_path, ECHO + yaml)
    with pytest.raises(ConfigError) as caught:
        load_specialist_config(path)
    assert f"{path}:{line}: stage 'echo': imports: {message}" in str(caught.value)
