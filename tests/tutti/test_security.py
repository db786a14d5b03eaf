"""TLS, mutual TLS with certificate reload, and the router's bearer token, against real servers.

Certificates are made here with the `cryptography` package, for 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import router_service
from router_service import Router
from tests.conftest import start_stage, write_echo_composition
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.channels import ChannelPool
from tutti.security import ClientTls, ServerTls, TokenCheck, load_token
from tutti.server import Server, ServerOptions
from tutti.v1 import router_pb2_grpc

PROMPTLY_S = 5.0


@dataclass
class Pair:
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, name: str) -> tuple[Pair, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write(folder, name, cert, key), key, cert


def issue(
    folder: Path, name: str, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _write(folder, name, cert, key)


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Pair:
    pair = Pair(folder / f"{name}.crt", folder / f"{name}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pair


@dataclass
class Pki:
    ca: Pair
    server: Pair
    client: Pair
    other_ca: Pair
    stranger: Pair  # a client certificate from a CA nobody trusts


def make_pki(folder: Path) -> Pki:
    """Two CAs; a server certificate (127.0.0.1, localhost) and a client one from the first."""
    ca, ca_key, ca_cert = make_ca(folder, "tutti-ca")
    other, other_key, other_cert = make_ca(folder, "other-ca")
    return Pki(
        ca=ca,
        server=issue(folder, "server", ca_key, ca_cert),
        client=issue(folder, "client", ca_key, ca_cert),
        other_ca=other,
        stranger=issue(folder, "stranger", other_key, other_cert),
    )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def start_echo(tmp_path: Path, tls: ServerTls | None) -> Server:
    config = tmp_path / "echo.yaml"
    config.write_text('stage: echo\nbackend: python\nfactory: "tests.stages:echo"\n')
    server, _ = await start_stage(config, ServerOptions(grace_s=0, tls=tls))
    return server


def composition(tmp_path: Path, address: str) -> Path:
    return write_echo_composition(
        tmp_path / "c.yaml", f'"{address}"', "retry: false, circuit: false"
    )


async def route_once(path: Path, tls: ClientTls | None) -> str:
    router = await Router.load([path], channels=ChannelPool(tls=tls), describe=False)
    try:
        response = await router.route(text_request("secret"), PROMPTLY_S)
        return output_text(response)
    finally:
        await router.close()


async def test_mutual_tls_serves_a_trusted_client_and_refuses_the_others(
    tmp_path: Path, pki: Pki
) -> None:
    tls = ServerTls(pki.server.cert, pki.server.key, client_ca=pki.ca.cert)
    server = await start_echo(tmp_path, tls)
    path = composition(tmp_path, server.address)
    try:
        assert (
            await route_once(path, ClientTls(pki.ca.cert, pki.client.cert, pki.client.key))
            == "secret"
        )
        refused = [
            ClientTls(pki.ca.cert),  # no client certificate
            ClientTls(pki.ca.cert, pki.stranger.cert, pki.stranger.key),  # signed by another CA
            ClientTls(pki.other_ca.cert, pki.client.cert, pki.client.key),  # server not trusted
            None,  # plaintext
        ]
        for client in refused:
            with pytest.raises(Exception) as caught:
                await route_once(path, client)
            assert "UNAVAILABLE" in str(caught.value), client
    finally:
        await server.stop(0)


async def test_server_certificate_files_replaced_on_disk_are_used_by_the_next_handshake(
    tmp_path: Path, pki: Pki
) -> None:
    live = Pair(tmp_path / "live.crt", tmp_path / "live.key")
    other_ca, other_key, other_cert = make_ca(tmp_path, "rotated-ca")
    rotated = issue(tmp_path, "rotated", other_key, other_cert)
    live.cert.write_bytes(pki.server.cert.read_bytes())
    live.key.write_bytes(pki.server.key.read_bytes())
    server = await start_echo(tmp_path, ServerTls(live.cert, live.key))
    path = composition(tmp_path, server.address)
    try:
        assert await route_once(path, ClientTls(pki.ca.cert)) == "secret"
        live.cert.write_bytes(rotated.cert.read_bytes())
        live.key.write_bytes(rotated.key.read_bytes())
        with pytest.raises(Exception, match="UNAVAILABLE"):
            await route_once(path, ClientTls(pki.ca.cert))  # the old CA no longer fits
        assert await route_once(path, ClientTls(other_ca.cert)) == "secret"
    finally:
        await server.stop(0)


async def test_the_router_token_refuses_missing_and_wrong_tokens(tmp_path: Path) -> None:
    stage = await start_echo(tmp_path, None)
    router = await Router.load([composition(tmp_path, stage.address)], describe=False)
    server = Server([router_service.service(router, authorize=TokenCheck("s3cret"))])
    await server.start()
    channel = aio.insecure_channel(server.address)
    stub = router_pb2_grpc.RouterServiceStub(channel)
    try:
        for metadata in [(), (("authorization", "Bearer wrong"),), (("authorization", "s3cret"),)]:
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.Route(text_request("x"), metadata=metadata, timeout=PROMPTLY_S)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "s3cret" not in (caught.value.details() or "")
        response = await stub.Route(
            text_request("x"), metadata=(("authorization", "Bearer s3cret"),), timeout=PROMPTLY_S
        )
        assert output_text(response) == "x"
        # Reflection follows the token; health stays open for the kubelet's probes.
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        listing = reflection_pb2.ServerReflectionRequest(list_services="")

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield listing

        with pytest.raises(aio.AioRpcError) as caught:
            async for _ in reflect.ServerReflectionInfo(ask(), timeout=PROMPTLY_S):
                pass
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        token = (("authorization", "Bearer s3cret"),)
        answers = [a async for a in reflect.ServerReflectionInfo(ask(), metadata=token)]
        names = {s.name for s in answers[0].list_services_response.service}
        assert "tutti.v1.RouterService" in names
        health = health_pb2_grpc.HealthStub(channel)
        checked = await health.Check(health_pb2.HealthCheckRequest(), timeout=PROMPTLY_S)
        assert checked.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await channel.close()
        await server.stop(0)
        await stage.stop(0)


def test_the_token_comes_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUTTI_ROUTER_TOKEN", raising=False)
    assert load_token(None) is None
    monkeypatch.setenv("TUTTI_ROUTER_TOKEN", " from-env ")
    assert load_token(None) == "from-env"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert load_token(str(token_file)) == "from-file"


def test_exposure_is_said_for_plaintext_or_tokenless_routers_off_loopback(tmp_path) -> None:
    from tutti.security import exposure_warnings

    assert exposure_warnings("127.0.0.1", False, False, None, "router") == []
    assert exposure_warnings("::1", False, False, None, "specialist") == []
    open_router = exposure_warnings("0.0.0.0", False, False, None, "router")
    assert (
        len(open_router) == 2 and "plaintext" in open_router[0] and "--token-file" in open_router[1]
    )
    assert exposure_warnings("10.0.0.5", True, True, None, "router") == []
    assert exposure_warnings("10.0.0.5", True, False, None, "merger") == []
    token = tmp_path / "token"
    token.write_text("x")
    token.chmod(0o600)
    assert exposure_warnings("127.0.0.1", False, True, str(token), "router") == []
    token.chmod(0o640)
    assert "mode 640" in exposure_warnings("127.0.0.1", False, True, str(token), "router")[0]
