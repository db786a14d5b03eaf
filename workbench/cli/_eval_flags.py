"""The flags of `tutti eval` (and the data flags `tutti tune` shares with it)."""

from __future__ import annotations

import argparse
import textwrap

__all__ = ["add_data_flags", "add_eval", "add_tune"]


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """How the labelled file's rows become the composition's inputs and labels."""
    data = parser.add_argument_group(
        "the labelled file",
        "CSV, TSV or JSONL with a header (or keys): one item a row, its label in a column",
    )
    data.add_argument("--data", required=True, metavar="FILE", help="the labelled file")
    data.add_argument(
        "--text-column",
        default="text",
        help="column whose text fills the input's text field (default: %(default)s)",
    )
    data.add_argument(
        "--input-field",
        help="the input type's field the text goes into, dotted (default: its only string"
        " field, else one named text)",
    )
    data.add_argument(
        "--input-column",
        help="column (or JSONL key) holding the whole input message as JSON, instead of text",
    )
    data.add_argument(
        "--label-column", default="label", help="column holding the label (default: %(default)s)"
    )
    data.add_argument(
        "--allow-unseen-labels",
        action="store_true",
        help="count rows whose label no model card (model.json) lists as wrong, not an error",
    )
    data.add_argument(
        "--label-path",
        help="the output field compared with the label, dotted, e.g. intent.label"
        " (default: the shallowest field named label)",
    )


def add_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="measure a composition against its single models on your labelled file",
        description=textwrap.dedent(
            """\
            Start the composition's services (as `tutti up` does), then send every item of the
            labelled file through the composition and through each baseline: a stage that
            answers the composition's input on its own with the label in its output (all such
            stages unless --against names some). Per system: accuracy, macro-F1, cost per item
            (declared prices and reported usage), p50/p95 latency, errors and the share of
            items each stage answered; against the cheapest and the strongest baseline: PGR
            (the share of the gap between them the composition closes), cost saved, and the
            routing confusion (hard items, which the cheapest gets wrong, not sent through the
            strongest stage; easy ones sent through it). Writes report.md, report.json, report.png and outcomes.jsonl
            (one line per item and system) into --out, and prints the table. Exits 1 when a
            request failed, unless --allow-errors."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              tutti eval examples/support-desk/composition.yaml --data test.tsv \\
                  --label-path intent.label --against cheap --against strong
              tutti eval my.yaml --data tickets.jsonl --input-column ticket"""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("composition", metavar="COMPOSITION.yaml")
    add_data_flags(evaluate)
    evaluate.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="STAGE",
        help="a stage to compare with (repeatable; default: every stage that can answer alone)",
    )
    evaluate.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="requests in flight; more than the machine's cores makes latencies queueing"
        " (default: %(default)s)",
    )
    evaluate.add_argument(
        "--router",
        metavar="ADDR",
        help="measure on this running router instead of starting the services; --against"
        " then names compositions it serves",
    )
    evaluate.add_argument("--out", metavar="DIR", help="report folder (default: eval-NAME)")
    evaluate.add_argument(
        "--allow-errors",
        action="store_true",
        help="count failed requests as wrong answers and exit 0",
    )


def add_tune(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tune = commands.add_parser(
        "tune",
        help="choose a composition's thresholds on your labelled file, for a cost or quality target",
        description=textwrap.dedent(
            """\
            The knobs are the composition's confidence thresholds: every `below` of a cascade,
            of an escalate tier and of a route's escalations. tune starts the services once,
            records every stage call a setting could make (each stage once per item and
            input), then replays every setting (21 values per knob, 0 to 1, for one or two
            knobs; fewer for more, up to --max-settings) through the router's own engine, with
            no further calls. It picks the most accurate setting within the cost target
            (--max-cost-share of the strongest single stage's cost, 0.25 by default, or
            --max-cost USD an item), or the cheapest with --min-quality; prints it and the
            cost/accuracy frontier; writes tune.json and frontier.png into --out; and with
            --write puts the thresholds into the file, changing nothing else in it.
            Decisions that depend on time (latency budgets, fan-out windows, hedging) are
            replayed as if every stage answered at once; confirm on held-out data with
            `tutti eval`."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              tutti tune desk.yaml --data dev.tsv --max-cost-share 0.2 --write
              tutti tune desk.yaml --data dev.tsv --min-quality 0.9 --pin 'escalate -> strong=0.7'"""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument("composition", metavar="COMPOSITION.yaml")
    add_data_flags(tune)
    target = tune.add_mutually_exclusive_group()
    target.add_argument(
        "--max-cost-share",
        type=float,
        metavar="SHARE",
        help="at most this share of the strongest single stage's cost per item (default 0.25)",
    )
    target.add_argument("--max-cost", type=float, metavar="USD", help="at most USD per item")
    target.add_argument(
        "--min-quality", type=float, metavar="ACCURACY", help="the cheapest setting this accurate"
    )
    tune.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="hold a knob (its name as printed, or its line) at VALUE (repeatable)",
    )
    tune.add_argument(
        "--max-settings",
        type=int,
        default=1000,
        help="settings tried at most (default: %(default)s)",
    )
    tune.add_argument(
        "--write", action="store_true", help="write the chosen thresholds into the file"
    )
    tune.add_argument(
        "--write-to", metavar="FILE", help="write the tuned composition to FILE instead"
    )
    tune.add_argument("--out", metavar="DIR", help="results folder (default: tune-NAME)")
