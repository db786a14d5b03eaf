"""The flags of `tutti eval` (and the data flags `tutti tune` shares with it)."""

from __future__ import annotations

import argparse
import textwrap

__all__ = ["add_data_flags", "add_eval"]


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
            routing confusion (hard items, which the cheapest gets wrong, sent cheap; easy
            ones sent dear). Writes report.md, report.json, report.png and outcomes.jsonl
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
        "--concurrency", type=int, default=8, help="requests in flight (default: %(default)s)"
    )
    evaluate.add_argument("--out", metavar="DIR", help="report folder (default: eval-NAME)")
    evaluate.add_argument(
        "--allow-errors",
        action="store_true",
        help="count failed requests as wrong answers and exit 0",
    )
