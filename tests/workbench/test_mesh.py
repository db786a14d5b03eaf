"""`Mesh`: a composition's services as child processes, kept answering and stopped together."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import grpc
import pytest

from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import Mesh

NOISE_LINES = 2000  # of 100 bytes: 200 KB, three times what a pipe buffers

MODELS = """\
import sys
import time
from pathlib import Path

from tutti.v1 import payloads_pb2


class Model:
    input_type = output_type = "tutti.v1.Text"

    def __init__(self, noise, sleep_s, started):
        self.noise, self.sleep_s, self.started = noise, sleep_s, started

    def predict(self, msg):
        sys.stdout.write(self.noise)
        sys.stdout.flush()
        if self.started:
            Path(self.started).touch()
        time.sleep(self.sleep_s)  # blocks the stage's event loop, and so its stop
        return payloads_pb2.Text(text=msg.text + "!")


def model(noise_lines=0, sleep_s=0.0, started=""):
    noise = ("x" * 99 + "\\n") * noise_lines
    sys.stdout.write(noise)
    sys.stdout.flush()
    return Model(noise, sleep_s, started)
"""

COMPOSITION = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  shout:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Text
    serve: {{backend: python, factory: "mesh_test_models:model", options: {options}}}
flow: shout
"""


def write_composition(folder: Path, options: str) -> Path:
    """The composition, and beside it the module of its model, which Mesh puts on PYTHONPATH."""
    (folder / "mesh_test_models.py").write_text(MODELS)
    path = folder / "composition.yaml"
    path.write_text(textwrap.dedent(COMPOSITION.format(options=options)))
    return path


def route(address: str, text: str, timeout: float = 20.0) -> str:
    with grpc.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        request = router_pb2.RouteRequest(composition="t", input=pack(payloads_pb2.Text(text=text)))
        response = stub.Route(request, timeout=timeout)
    out = payloads_pb2.Text()
    assert response.output.Unpack(out)
    return out.text


def test_a_stage_that_prints_a_lot_keeps_answering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mesh = Mesh.start(write_composition(tmp_path, f"{{noise_lines: {NOISE_LINES}}}"))
    try:
        answers = [route(mesh.router_address, f"hello {i}") for i in range(3)]
    finally:
        mesh.stop()
    assert answers == ["hello 0!", "hello 1!", "hello 2!"]
    # Nothing was lost on the way: once at start-up and once per request.
    assert capsys.readouterr().out.count("x" * 99 + "\n") == 4 * NOISE_LINES
    assert [t.name for t in threading.enumerate() if t.name.startswith("tutti-mesh-")] == []


def test_an_interrupt_during_stop_still_stops_every_child(tmp_path: Path) -> None:
    """A second Ctrl-C while the mesh drains is raised only once every child has exited."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT does not raise KeyboardInterrupt in this process")
    started = tmp_path / "started"
    mesh = Mesh.start(write_composition(tmp_path, f"{{sleep_s: 3, started: '{started}'}}"))
    children = [child.process for child in mesh.children]
    # A request whose stage blocks for a while keeps the router, then the stage, from
    # exiting at once: stop() is still waiting when the interrupt comes.
    caller = threading.Thread(target=_route_ignoring_errors, args=(mesh.router_address,))
    caller.start()
    try:
        deadline = time.monotonic() + 20.0
        while not started.exists():
            assert time.monotonic() < deadline, "the stage never got the request"
            time.sleep(0.05)
        # Process-directed, as a Ctrl-C is: the kernel may hand it to any thread.
        interrupt = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
        interrupt.start()
        with pytest.raises(KeyboardInterrupt):
            mesh.stop()
        interrupt.join()
        assert [p.pid for p in children if p.poll() is None] == []
    finally:
        for process in children:  # only if stop() did not: never leave them running
            if process.poll() is None:
                process.kill()
                process.wait()
        caller.join()


def _route_ignoring_errors(address: str) -> None:
    # The router may answer, or be gone before it can: either is fine here.
    with contextlib.suppress(grpc.RpcError):
        route(address, "slow")
