"""The flags of `tutti serve`: which service, where it binds, its limits and its security."""

from __future__ import annotations

import argparse
import re
import textwrap

from workbench.cli._argument_types import positive_int, stage_endpoint

__all__ = ["add_serve"]

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        " or a composition file with --stage; merger: the compositions it merges for (their"
        " `imports:` make the merged types known)",
    )
    serve.add_argument(
        "--stage", help="specialist: serve this stage's `serve:` block of the composition"
    )
    serve.add_argument(
        "--model-digest",
        type=_digest,
        metavar="sha256:HEX",
        help="specialist: refuse to start unless the files its model loads (beside the"
        " composition) have this digest, as `tutti deploy render` wrote it",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    serve.add_argument(
        "--health-port",
        type=_port,
        metavar="PORT",
        help="also serve grpc.health.v1 alone, in plaintext, on this port of the same host (0: a"
        " free one), for probes that cannot speak TLS; the main port keeps serving health too",
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
        type=stage_endpoint,
        default=[],
        metavar="STAGE=HOST:PORT",
        help="router: override a stage's endpoint",
    )
    limits = serve.add_argument_group("limits")
    limits.add_argument(
        "--max-in-flight",
        type=positive_int,
        default=256,
        help="calls served at once; past it, RESOURCE_EXHAUSTED at once (default: %(default)s);"
        " health checks are never counted",
    )
    limits.add_argument(
        "--max-streams",
        type=positive_int,
        default=64,
        help="request streams (RouteStream) open at once, counted apart from calls"
        " (default: %(default)s)",
    )
    limits.add_argument(
        "--stream-idle-s",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="close a request stream that sent nothing for this long (default: %(default)s)",
    )
    limits.add_argument(
        "--max-message-mb",
        type=positive_int,
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


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {number}")
    return number


def _digest(value: str) -> str:
    digest = value.strip().lower()
    if not _DIGEST.fullmatch(digest):
        raise argparse.ArgumentTypeError(f"expected sha256: and 64 hex digits, not {value!r}")
    return digest
