"""What `tutti recommend --data` refuses: bad data files, models it would overwrite, flags that
do not go together; each with a clear error and nothing trained or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workbench.cli.labelled import labelled_rows, write_labelled
from tests.workbench.cli.running import tutti

TRAIN_TIMEOUT_S = 120.0


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "tickets.csv:1: the file is empty"),
        ("words,category\nhello,greeting\n", "tickets.csv:1: no column 'text', 'label'"),
        ("text,label\nhello,greeting\n,greeting\n", "tickets.csv:3: empty 'text' in this row"),
        ("text,label\nhello,greeting\nhi,greeting\n", "tickets.csv: one label only ('greeting')"),
        (None, "tickets.csv: cannot read"),
    ],
    ids=["empty", "no such columns", "empty text", "one label", "missing file"],
)
def test_a_bad_data_file_is_an_error_naming_it_and_nothing_is_written(
    content: str | None, error: str, tmp_path: Path
) -> None:
    data = tmp_path / "tickets.csv"
    if content is not None:
        data.write_text(content)
    out = tmp_path / "desk" / "composition.yaml"

    result = tutti("recommend", "--data", str(data), "--strong", "cheap", "--out", str(out))

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"tutti recommend: error: {tmp_path}/{error}" in result.stderr
    assert "nothing trained, nothing written" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "desk").exists()


def test_labels_in_no_department_are_named_before_anything_is_trained(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "tickets.csv", labelled_rows(per_label=3))
    departments = tmp_path / "departments.yaml"
    departments.write_text("money: [billing, loans]\nsupport: [account]\n")

    result = tutti(
        "recommend", "--data", str(data), "--departments", str(departments),
        "--strong", "cheap", "--out", str(tmp_path / "desk" / "composition.yaml"),
    )  # fmt: skip

    assert result.returncode == 2
    assert "labels in no department: app, cards, shipping" in result.stderr
    assert not (tmp_path / "desk").exists()


def test_trained_models_are_not_overwritten_without_force(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "tickets.csv", labelled_rows(per_label=4))
    mine = tmp_path / "models" / "cheap" / "model.joblib"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own model")
    out = tmp_path / "composition.yaml"

    refused = tutti("recommend", "--data", str(data), "--strong", "cheap", "--out", str(out))
    assert refused.returncode == 1
    assert f"{mine} already exists; pass --force" in refused.stderr
    assert mine.read_bytes() == b"my own model" and not out.exists()

    forced = tutti(
        "recommend", "--data", str(data), "--strong", "cheap", "--out", str(out), "--force",
        timeout=TRAIN_TIMEOUT_S,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert mine.read_bytes() != b"my own model" and out.exists()


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (("--data", "t.csv", "--categories", "3"), "--categories: with --data the labelled texts"),
        (("--departments", "d.yaml"), "--departments only apply with --data FILE"),
        (("--strong", "cheap", "--seed", "1"), "--strong, --seed only apply with --data FILE"),
    ],
)
def test_flags_that_do_not_go_together_are_a_usage_error(
    flags: tuple[str, ...], error: str, tmp_path: Path
) -> None:
    result = tutti("recommend", *flags, "--out", str(tmp_path / "c.yaml"))
    assert result.returncode == 2
    assert f"tutti recommend: error: {error}" in result.stderr
    assert not (tmp_path / "c.yaml").exists()
