"""The located YAML loader: merge keys as YAML defines them, with the line of every key kept."""

from __future__ import annotations

import textwrap

import pytest

from tutti.errors import ConfigError
from tutti.located_yaml import load_located

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
