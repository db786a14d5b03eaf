"""`tutti up`: the services of one or more compositions on loopback, kept up until a signal."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence

from workbench.mesh import Mesh
from workbench.supervisor import Supervisor

__all__ = ["up"]


def up(compositions: str | Sequence[str], port: int) -> int:
    """Start the mesh, print where everything is, and keep it up until a signal.

    Several compositions are served by one router, over one service per stage name.

    A service that dies is started again on its port (see RestartPolicy);
    `up` exits 1 only when one fails too often in a row.
    """
    # SIGTERM stops `up` the way Ctrl-C does, through KeyboardInterrupt, so the
    # children are stopped in both cases, even while they are still starting.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    files = [compositions] if isinstance(compositions, str) else list(compositions)
    mesh = Mesh.start(files, router_port=port, log_level="INFO")
    try:
        if len(files) == 1:
            print(f"composition {files[0]} is up:")
        else:
            print(f"compositions {', '.join(files)} are up:")
        for name, address in mesh.endpoints.items():
            print(f"  {name:<20} {address}")
        print(f"  {'router':<20} {mesh.router_address}")
        print("Ctrl-C stops every service.", flush=True)
        supervisor = Supervisor(mesh.children, mesh.env)
        while supervisor.tick():
            time.sleep(0.2)
        print("tutti up: stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
        return 0
    finally:
        mesh.stop()
