"""A labelled data set as read: items in file order, each an input message and its label."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from google.protobuf.message import Message

__all__ = ["Dataset", "Item", "ItemLedger", "line_id", "unknown_labels"]


@dataclass(frozen=True)
class Item:
    """One labelled row: where it is in the file, its id, the input message and its label."""

    line: int  # 1-based line of the file where the row starts (a CSV/TSV header is line 1)
    id: str  # the row's `id` column or key when it has one, else `line-N`
    input: Message
    label: str


@dataclass(frozen=True)
class Dataset:
    """The items of one labelled file, in file order; `labels` are the distinct ones, sorted."""

    source: str
    input_type: str  # the full name of every item's input message type
    items: tuple[Item, ...]
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(sorted({item.label for item in self.items})))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)


def unknown_labels(dataset: Dataset, known_labels: Iterable[str]) -> list[str]:
    """The labels of `dataset` outside `known_labels` (what the models were trained on),
    sorted: no model can answer them, so eval can say so before it scores a single row."""
    known = set(known_labels)
    return [label for label in dataset.labels if label not in known]


class ItemLedger:
    """The items read so far; an id used twice is refused (results are joined by id)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._lines: dict[str, int] = {}

    def add(self, item: Item) -> str | None:
        """Keep `item`; or, when its id is taken, a problem naming the line that has it."""
        first = self._lines.setdefault(item.id, item.line)
        if first != item.line:
            return f"id '{item.id}' is also the id of line {first}; ids must be unique"
        self.items.append(item)
        return None


def line_id(line: int) -> str:
    """The id of a row without one of its own."""
    return f"line-{line}"
