"""The `openai:` section read and checked at load, with no HTTP client: the backend's plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from specialist_service._llm import LlmContract, chat_keys, load_contract
from specialist_service._retry import RetryPolicy
from specialist_service._section import Section
from tutti.config import Problems
from tutti.messages import MessageTypes

__all__ = ["DEFAULT_KEY_ENV", "OpenAIPlan", "read"]

_KEYS = chat_keys() | {
    "base_url", "model", "api_key_env", "api_key_file", "timeout_s", "retry", "response_format",
}  # fmt: skip
_RESPONSE_FORMATS = ("json_schema", "json_object", "none")
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class OpenAIPlan:
    """The `openai:` section, read and checked; the key itself is read only at build."""

    contract: LlmContract
    base_url: str
    model: str
    timeout_s: float
    retry: RetryPolicy
    response_format: str
    api_key_file: Path | None
    api_key_env: str
    api_key_env_given: bool


def read(
    data: Mapping[str, object],
    problems: Problems,
    input_type: str,
    output_type: str,
    types: MessageTypes,
    base_dir: Path,
) -> OpenAIPlan | None:
    """Read the `openai:` section; None when a problem was reported."""
    before = len(problems.found)
    if "api_key" in data:
        problems.report(
            "openai.api_key",
            "a key does not belong in a config file; name its environment variable"
            " (api_key_env) or its file (api_key_file)",
        )
    own = {key: value for key, value in data.items() if key != "api_key"}
    section = Section("openai", own, problems, _KEYS, base_dir=base_dir)
    contract = load_contract(section, input_type, output_type, types)
    base_url = section.text("base_url", required=True)
    if base_url and not base_url.startswith(("http://", "https://")):
        section.report("base_url", f"must start with http:// or https://, not {base_url!r}")
    model = section.text("model", required=True)
    response_format = section.choice("response_format", _RESPONSE_FORMATS)
    retry_section = section.child("retry", frozenset({"attempts", "backoff_s", "max_backoff_s"}))
    policy = RetryPolicy(
        attempts=retry_section.integer("attempts", 3, minimum=1),
        backoff_s=retry_section.number("backoff_s", 0.5),
        max_backoff_s=retry_section.number("max_backoff_s", 8.0),
    )
    timeout_s = section.number("timeout_s", 60.0, above=True)
    api_key_file = section.path("api_key_file")
    env_given = section.data.get("api_key_env") is not None
    if api_key_file is not None and env_given:
        section.report("api_key_file", "give api_key_file or api_key_env, not both")
    api_key_env = section.text("api_key_env", DEFAULT_KEY_ENV)
    if contract is None or len(problems.found) > before:
        return None
    return OpenAIPlan(
        contract, base_url, model, timeout_s, policy, response_format,
        api_key_file, api_key_env, env_given,
    )  # fmt: skip
