"""The located YAML loader: merge keys as YAML defines them, with the line of every key kept."""

from __future__ import annotations

import textwrap

import pytest

from tutti.errors import ConfigError
from tutti.located_yaml import load_located, read_config_text

DEFAULTS = """\
base: &base {timeout: 1, retries: 2}
more: &more {retries: 5, colour: red}
"""


def test_own_keys_override_merged_ones_and_keep_their_lines() -> None:
    text = DEFAULTS + textwrap.dedent("""\
        item:
          <<: *base
          retries: 3
        """)
    data, problems = load_located(text, "f.yaml")
    assert problems == []
    assert data["item"] == {"timeout": 1, "retries": 3}
    assert data["item"].line_of("retries") == 5  # its own line
    assert data["item"].line_of("timeout") == 1  # where the default is written


def test_earlier_merged_mappings_win_over_later_ones() -> None:
    data, problems = load_located(DEFAULTS + "item: {<<: [*base, *more]}\n", "f.yaml")
    assert problems == []
    assert data["item"] == {"timeout": 1, "retries": 2, "colour": "red"}


def test_merging_something_other_than_a_mapping_is_invalid_yaml() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:1: invalid YAML: expected a mapping"):
        load_located("item: {<<: 3}\n", "f.yaml")


def test_a_file_that_is_not_utf8_is_a_config_error_with_its_offset_and_line(tmp_path) -> None:
    path = tmp_path / "composition.yaml"
    path.write_bytes(b"composition: t\nname: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        read_config_text(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 2)
    assert "not UTF-8 text: byte 0xe9 at offset 24" in problem.message


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: 1\nb: 2\nc: \x00\n", 3),  # a character YAML refuses
        ("a: 1\nb: " + "[" * 20_000 + "]" * 20_000 + "\n", 2),  # nesting past any sane depth
    ],
)
def test_yaml_the_reader_refuses_is_a_config_error_with_a_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        load_located(text, "f.yaml")
    assert caught.value.problems[0].line == line, caught.value


def _laughs(levels: int) -> str:
    lines = ["top:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_that_expand_past_the_bound_are_refused_with_a_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_located(_laughs(7), "laughs.yaml")  # 640 bytes standing for ten million nodes
    (problem,) = caught.value.problems
    assert problem.line == 1 and "aliases expand to" in problem.message


def test_a_large_file_without_aliases_and_modest_aliases_load() -> None:
    plain = "".join(f"s{i}: {{a: 1, b: [1, 2, 3]}}\n" for i in range(40_000))  # 280k nodes
    assert len(load_located(plain, "plain.yaml")[0]) == 40_000
    assert load_located(_laughs(3), "small.yaml")[0]["top"]["l2"][0][0] == ["x"] * 10


def test_an_alias_to_the_mapping_it_is_in_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_located("a: 1\nb: &b\n  c: *b\n", "loop.yaml")
    assert caught.value.problems[0].line in (2, 3), caught.value


def test_a_file_past_the_size_bound_is_refused_unread(tmp_path, monkeypatch) -> None:
    import tutti.located_yaml

    monkeypatch.setattr(tutti.located_yaml, "MAX_CONFIG_BYTES", 1024)
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 1000)
    with pytest.raises(ConfigError, match="larger than"):
        read_config_text(path)
