"""`tutti eval`: does a composition beat its single models on the user's labelled file?

`read_inputs` checks the file, the types and the label's path before anything starts;
`served` starts the composition's services and a router serving it and each baseline
stage alone; `evaluate` sends every item through every system; the figures, the
comparison (PGR, cost saved, routing confusion) and the report follow.
"""

from __future__ import annotations

from workbench.evaluation._command import (
    DataOptions,
    Evaluation,
    Served,
    evaluate,
    outcomes_json,
    read_inputs,
    served,
    summarise,
    with_endpoints,
)
from workbench.evaluation._figures import (
    Comparison,
    Figures,
    Routing,
    compare,
    figures,
    macro_f1,
    percentile,
)
from workbench.evaluation._outcomes import Outcome, outcome_of, run_system
from workbench.evaluation._report import REPORT_KEYS, EvalReport, table, write_report
from workbench.evaluation._run import evaluated, run_eval
from workbench.evaluation._systems import (
    System,
    baseline_stages,
    draft_baselines,
    route_classifiers,
    stage_types,
    write_baselines,
)

__all__ = [
    "REPORT_KEYS",
    "Comparison",
    "DataOptions",
    "EvalReport",
    "Evaluation",
    "Figures",
    "Outcome",
    "Routing",
    "Served",
    "System",
    "baseline_stages",
    "compare",
    "draft_baselines",
    "evaluate",
    "evaluated",
    "figures",
    "macro_f1",
    "outcome_of",
    "outcomes_json",
    "percentile",
    "read_inputs",
    "route_classifiers",
    "run_eval",
    "run_system",
    "served",
    "stage_types",
    "summarise",
    "table",
    "with_endpoints",
    "write_baselines",
    "write_report",
]
