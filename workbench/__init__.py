"""The user's workbench: every `tutti` sub-command and the tools behind them.

The CLI (`workbench.cli`), the local mesh launcher (`workbench.mesh`, behind
`tutti up`), `tutti serve`, `check`, `route` and `train`, the demo and its
report, `recommend` and `deploy render`. The workbench stands on the services
and imports each only through its public `__init__`; nothing below imports it.
"""

from __future__ import annotations

__all__: list[str] = []
