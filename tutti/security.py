"""Transport security and client authentication: TLS and mutual TLS from files, a bearer token.

Secrets come from files (or, for the token, an environment variable), never
from a composition or the command line, and are never logged. Server
certificates are re-read when their files change: grpc asks for the
configuration at every new handshake, and this module answers from a cache
keyed by the files' modification times.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from tutti.errors import ConfigError, Problem, TuttiError

__all__ = [
    "exposure_warnings",
    "ClientTls",
    "ServerTls",
    "TokenCheck",
    "UnauthenticatedError",
    "load_token",
]

log = logging.getLogger("tutti.security")

TOKEN_ENV = "TUTTI_ROUTER_TOKEN"


class UnauthenticatedError(TuttiError):
    code = grpc.StatusCode.UNAUTHENTICATED


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            Problem(str(path), 0, f"cannot read the {what}: {exc.strerror}")
        ) from None


def _stamp(paths: list[Path]) -> tuple[float, ...]:
    stamps = []
    for path in paths:
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:
            stamps.append(-1.0)
    return tuple(stamps)


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key; with `client_ca`, clients must present a certificate it signed."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def files(self) -> list[Path]:
        return [p for p in (self.cert, self.key, self.client_ca) if p is not None]

    def credentials(self) -> grpc.ServerCredentials:
        lock = threading.Lock()
        state = {"stamp": _stamp(self.files())}
        initial = self._configuration()

        def fetch() -> Any:
            # Called by grpc on its own threads at each handshake: None keeps the current one.
            stamp = _stamp(self.files())
            with lock:
                if stamp == state["stamp"]:
                    return None
                try:
                    configuration = self._configuration()
                except ConfigError as exc:
                    log.error("TLS files changed but cannot be used; keeping the old ones: %s", exc)
                    return None
                state["stamp"] = stamp
            log.info("TLS certificate reloaded from %s", self.cert)
            return configuration

        return grpc.dynamic_ssl_server_credentials(
            initial, fetch, require_client_authentication=self.client_ca is not None
        )

    def _configuration(self) -> Any:
        pair = (_read(self.key, "TLS key"), _read(self.cert, "TLS certificate"))
        roots = _read(self.client_ca, "client CA") if self.client_ca is not None else None
        return grpc.ssl_server_certificate_configuration([pair], root_certificates=roots)


@dataclass(frozen=True)
class ClientTls:
    """What a router needs to call stages over TLS: the CA it trusts, and its own pair for mTLS."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def files(self) -> list[Path]:
        return [p for p in (self.ca, self.cert, self.key) if p is not None]

    def stamp(self) -> tuple[float, ...]:
        return _stamp(self.files())

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.cert is None) != (self.key is None):
            raise ConfigError(
                Problem(
                    "<command line>",
                    0,
                    "a client certificate needs its key, and a key its certificate",
                )
            )
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "CA certificate"),
            private_key=_read(self.key, "client key") if self.key is not None else None,
            certificate_chain=_read(self.cert, "client certificate")
            if self.cert is not None
            else None,
        )


def load_token(path: str | None) -> str | None:
    """The router's bearer token from `path`, else from $TUTTI_ROUTER_TOKEN; None when neither."""
    if path:
        token = _read(Path(path), "token file").decode().strip()
        if not token:
            raise ConfigError(Problem(path, 1, "the token file is empty"))
        return token
    return os.environ.get(TOKEN_ENV, "").strip() or None


class TokenCheck:
    """Checks `authorization: Bearer <token>` in a call's metadata, in constant time."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def __call__(self, metadata: Any) -> None:
        for key, value in metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else bytes(value)
                if hmac.compare_digest(given, self._expected):
                    return
                break
        raise UnauthenticatedError("missing or wrong bearer token (metadata 'authorization')")


def exposure_warnings(
    host: str, tls: bool, token: bool, token_file: str | None, kind: str
) -> list[str]:
    """What is open about a service about to serve, one sentence each; none on loopback
    with nothing to say. Said at start, so that an exposed service is never silent."""
    warnings: list[str] = []
    if not _is_loopback(host):
        if not tls:
            warnings.append(
                f"serving plaintext on {host}: anyone who reaches it can read and send calls"
                " (give --tls-cert and --tls-key)"
            )
        if kind == "router" and not token:
            warnings.append(
                f"the router on {host} takes calls from anyone who reaches it (give --token-file)"
            )
    if token_file:
        try:
            mode = Path(token_file).stat().st_mode
        except OSError:
            mode = 0
        if mode & 0o077:
            warnings.append(
                f"{token_file} can be read by other users (mode {mode & 0o777:o}): chmod 600 it"
            )
    return warnings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere
