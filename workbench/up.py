"""`tutti up`: a composition's services on loopback, kept up until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
import time

from workbench.mesh import Mesh

__all__ = ["up"]


def up(composition: str, port: int) -> int:
    """Start the mesh, print where everything is, and keep it up until a signal."""
    # SIGTERM stops `up` the way Ctrl-C does, through KeyboardInterrupt, so the
    # children are stopped in both cases, even while they are still starting.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    mesh = Mesh.start(composition, router_port=port, log_level="INFO")
    try:
        print(f"composition {composition} is up:")
        for name, address in mesh.endpoints.items():
            print(f"  {name:<20} {address}")
        print(f"  {'router':<20} {mesh.router_address}")
        print("Ctrl-C stops every service.", flush=True)
        while True:
            time.sleep(0.5)
            dead = [c.name for c in mesh.children if c.process.poll() is not None]
            if dead:
                print(f"tutti up: {', '.join(dead)} exited; stopping the rest", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
        return 0
    finally:
        mesh.stop()
