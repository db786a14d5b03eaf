"""The `tutti` argument parser: the overview, and the flags of check, up, route and deploy."""

from __future__ import annotations

import argparse
import textwrap

from workbench.cli._argument_types import stage_image
from workbench.cli._eval_flags import add_eval, add_tune
from workbench.cli._loop_flags import add_demo, add_recommend, add_train
from workbench.cli._serve_flags import add_serve
from workbench.cli._traces_flags import add_traces
from workbench.deploy import DEFAULT_BASE

__all__ = ["DEFAULT_ROUTER", "build_parser"]

DEFAULT_ROUTER = "127.0.0.1:50051"

DESCRIPTION = """\
Tutti composes AI models into one system over gRPC.

A composition file (YAML) declares the stages (model services, each behind
tutti.v1.StageService) and the flow between them: sequence, route, cascade,
fanout and split, nested freely. Start with:

  tutti check examples/quickstart/composition.yaml   type-check it offline
  tutti up examples/quickstart/composition.yaml      start all its services
  tutti route quickstart --json '{"text": "hello"}'  send one request
"""


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command, listed in `tutti --help` in the order they are added here."""
    parser = argparse.ArgumentParser(
        prog="tutti", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve(commands)
    _add_check_up_route(commands)
    add_eval(commands)
    add_tune(commands)
    add_recommend(commands)
    add_demo(commands)
    add_train(commands)
    _add_deploy(commands)
    add_traces(commands)
    return parser


def _add_check_up_route(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="type-check compositions offline",
        description="Compile each composition and list every error with file and line; exit 1 if any.",
    )
    check.add_argument("files", nargs="+", metavar="COMPOSITION.yaml")
    check.add_argument(
        "--live", action="store_true", help="also ask the live stages for their types (Describe)"
    )

    up = commands.add_parser(
        "up",
        help="start every service of one or more compositions on loopback",
        description=textwrap.dedent(
            """\
            Start the compositions' specialists (stages with a `serve:` block), their mergers
            and one router serving them all, as child processes on 127.0.0.1; wait until each
            reports healthy, print the endpoints, and stop them all on Ctrl-C or SIGTERM.

            Compositions share a stage by its name: one service serves it for all of them,
            so every file that names it must declare it alike (the same `serve:` block and
            types). Stages with a `serve:` block, and mergers, need no `endpoint:`: `up`
            tells the router where they are.

            A service that dies is started again on the same port, after 0.5 s, then 1, 2,
            4 ... up to 10 s between attempts, while the rest keep serving; after 5 failed
            restarts in a row (of a service that had served less than a minute) `up` stops
            everything and exits 1."""
        ),
    )
    up.add_argument("composition", nargs="+", metavar="COMPOSITION.yaml")
    up.add_argument("--port", type=int, default=50051, help="router port (default: %(default)s)")

    route = commands.add_parser(
        "route",
        help="send one request to a router and print the output and execution",
        description="Send one input, given as JSON of the composition's input type, and print the result.",
        epilog='example: tutti route quickstart --json \'{"text": "I forgot my password"}\'',
    )
    route.add_argument("composition", help="the composition's name, or its YAML file")
    route.add_argument("--json", required=True, dest="input_json", help="the input message as JSON")
    route.add_argument(
        "--router", default=DEFAULT_ROUTER, help="router address (default: %(default)s)"
    )
    route.add_argument(
        "--timeout", type=float, default=30.0, help="deadline in seconds (default: %(default)s)"
    )
    route.add_argument(
        "--budgets",
        action="store_true",
        help="also print each stage's latency budget against its elapsed time",
    )


def _add_deploy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deploy = commands.add_parser(
        "deploy",
        help="Kubernetes manifests and the models image of a composition",
        description="Kubernetes manifests over deploy/overlays, and the image that carries a"
        " composition's model files (see deploy/README.md).",
    )
    deploy_commands = deploy.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    render = deploy_commands.add_parser(
        "render",
        help="write a self-contained kustomization of the composition's services",
        description=textwrap.dedent(
            """\
            Write into --out a self-contained kustomization (copies of deploy/base and
            deploy/overlays/OVERLAY) with a Deployment, a headless Service and a NetworkPolicy
            for every stage with a `serve:` block (and the merger only when a stage is
            `kind: merger`), the router's --endpoint for each, an initContainer that fills
            /srv/composition from the composition's models image (`tutti deploy build`), and
            each specialist's --model-digest. It builds with `kubectl kustomize OUT` wherever
            the folder is copied. prod serves mutual TLS between router and stages and
            points the probes at plaintext health ports."""
        ),
    )
    render.add_argument("composition", metavar="COMPOSITION.yaml")
    render.add_argument(
        "--overlay", choices=("dev", "prod"), default="dev", help="(default: %(default)s)"
    )
    render.add_argument(
        "--out", metavar="DIR", help="output folder (default: deploy-COMPOSITION-OVERLAY)"
    )
    render.add_argument("--namespace", default="tutti", help="(default: %(default)s)")
    render.add_argument(
        "--image",
        action="append",
        type=stage_image,
        default=[],
        metavar="STAGE=IMAGE",
        help="run this stage's specialist in IMAGE instead of the one chosen from its backend"
        " and files (repeatable)",
    )
    build = deploy_commands.add_parser(
        "build",
        help="pack the composition's model files into its models image",
        description=textwrap.dedent(
            """\
            Build tutti-models-COMPOSITION:DIGEST, the image that carries the files the
            composition's served stages load (model files, a python factory's module and the
            files it names, the `imports:` modules beside it) at /models/<path relative to the
            composition's folder>. DIGEST is the first 12 hex of the files' content digest:
            other bytes, another tag. A pod's initContainer copies /models/. into the
            composition's folder (/srv/composition); to do the same by hand:

              docker run --rm -v VOLUME:/srv/composition IMAGE cp -a /models/. /srv/composition/

            A model file that is not there stops the build (`tutti check` says how to make
            it). Needs a docker daemon; the image name is the last line printed."""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("composition", metavar="COMPOSITION.yaml")
    build.add_argument(
        "--base",
        metavar="IMAGE",
        default=DEFAULT_BASE,
        help="the image the files are laid on; it needs /bin/cp (default: %(default)s, made"
        " by deploy/images/base.sh; python:3.11-slim or any Debian image does too)",
    )
