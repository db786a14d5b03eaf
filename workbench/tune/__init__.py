"""`tutti tune`: the thresholds of a composition chosen on the user's own data.

`_knobs` finds every `below` of the flow (and rewrites it in place), `_replay` records
each stage call once and answers it again, `_offline` runs every setting through the
router's own engine over that record, `_search` picks the setting for the target and
draws the frontier, `_command` is the command.
"""

from __future__ import annotations

from workbench.tune._command import TuneTarget, tune, tuned
from workbench.tune._knobs import Knob, find_knobs, resolve_pins, rewrite, set_knobs
from workbench.tune._replay import Recording
from workbench.tune._results import Tuning, frontier_lines, knob_lines, summary, write_results
from workbench.tune._search import Point, Target, choose, frontier, grid

__all__ = [
    "Knob",
    "Point",
    "Recording",
    "Target",
    "TuneTarget",
    "Tuning",
    "choose",
    "find_knobs",
    "frontier",
    "frontier_lines",
    "grid",
    "knob_lines",
    "resolve_pins",
    "rewrite",
    "set_knobs",
    "summary",
    "tune",
    "tuned",
    "write_results",
]
