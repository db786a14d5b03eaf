"""The content digest of model files and the files a specialist's serve block references."""

from __future__ import annotations

from pathlib import Path

from specialist_service import SpecialistConfig, stage_files
from tutti.digest import files_under, tree_digest


def _tree(root: Path) -> None:
    (root / "models" / "cheap").mkdir(parents=True)
    (root / "models" / "cheap" / "weights.bin").write_bytes(b"\x00\x01")
    (root / "models" / "cheap" / "labels.txt").write_text("a\nb\n")
    (root / "desk.py").write_text("def model(**_): ...\n")


def test_folders_are_walked_into_sorted_relative_files(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert files_under(tmp_path, ["models/cheap", "desk.py"]) == [
        "desk.py",
        "models/cheap/labels.txt",
        "models/cheap/weights.bin",
    ]


def test_the_digest_changes_with_a_byte_a_name_or_a_missing_file(tmp_path: Path) -> None:
    _tree(tmp_path)
    paths = ["models/cheap", "desk.py"]
    first = tree_digest(tmp_path, paths)
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert tree_digest(tmp_path, list(reversed(paths))) == first
    (tmp_path / "models" / "cheap" / "weights.bin").write_bytes(b"\x00\x02")
    changed = tree_digest(tmp_path, paths)
    assert changed != first
    (tmp_path / "models" / "cheap" / "weights.bin").rename(tmp_path / "models" / "cheap" / "w.bin")
    renamed = tree_digest(tmp_path, paths)
    assert renamed not in (first, changed)
    (tmp_path / "desk.py").unlink()
    assert tree_digest(tmp_path, paths) not in (first, changed, renamed)


def test_a_python_stage_needs_its_factory_module_and_the_paths_in_its_options(
    tmp_path: Path,
) -> None:
    _tree(tmp_path)
    config = SpecialistConfig.from_mapping(
        {
            "backend": "python",
            "factory": "desk:model",
            "options": {"model": "models/cheap", "department": "cards", "nested": ["desk.py"]},
        },
        stage="cheap",
        base_dir=tmp_path,
    )
    assert stage_files(config) == ["desk.py", "models/cheap"]


def test_a_missing_model_file_is_still_listed_and_outside_paths_are_not(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes(b"x")
    root = tmp_path / "composition"
    root.mkdir()
    missing = SpecialistConfig.from_mapping(
        {"backend": "sklearn", "model": "models/triage.joblib"}, stage="t", base_dir=root
    )
    assert stage_files(missing) == ["models/triage.joblib"]
    absolute = SpecialistConfig.from_mapping(
        {"backend": "sklearn", "model": str(outside)}, stage="t", base_dir=root
    )
    assert stage_files(absolute) == []


def test_a_factory_module_brings_its_sibling_modules_and_the_files_it_names(
    tmp_path: Path,
) -> None:
    """Read from the source, never imported: a default like "departments.yaml" counts."""
    (tmp_path / "desk.py").write_text(
        "import json\nfrom lookup import table\n\n"
        "def model(departments: str = 'departments.yaml') -> object: ...\n"
    )
    (tmp_path / "lookup.py").write_text("table = open('table.csv').read\n")
    for name in ("departments.yaml", "table.csv", "unrelated.csv"):
        (tmp_path / name).write_text("x\n")
    config = SpecialistConfig.from_mapping(
        {"backend": "python", "factory": "desk:model"}, stage="s", base_dir=tmp_path
    )
    assert stage_files(config) == ["departments.yaml", "desk.py", "lookup.py", "table.csv"]


def test_bytecode_python_wrote_beside_a_module_is_not_content(tmp_path: Path) -> None:
    _tree(tmp_path)
    before = tree_digest(tmp_path, ["models"])
    (tmp_path / "models" / "__pycache__").mkdir()
    (tmp_path / "models" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    assert files_under(tmp_path, ["models"]) == [
        "models/cheap/labels.txt",
        "models/cheap/weights.bin",
    ]
    assert tree_digest(tmp_path, ["models"]) == before
