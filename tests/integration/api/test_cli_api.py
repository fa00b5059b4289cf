"""`syncline api` as a process: kubeconfig credentials, HTTPS with the given certificate."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.api.conftest import Callers
from tests.integration.api.test_auth import VIEW, assert_error

pytestmark = pytest.mark.integration


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_syncline_api_serves_https_with_kubernetes_auth(
    kubeconfig_path: Path, tmp_path: Path, callers: Callers, namespace: str
) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    syncline = str(Path(sys.executable).with_name("syncline"))
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [syncline, "api", f"--address=127.0.0.1:{port}", f"--tls-cert={cert}", f"--tls-key={key}"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig_path)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", verify=str(cert)).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        token = callers.make("viewer", VIEW)
        runs = f"{base}/api/v1/namespaces/{namespace}/runs"
        assert_error(httpx.get(runs, verify=str(cert)), 401, 2800)
        answer = httpx.get(runs, verify=str(cert), headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": []}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", verify=True)  # not a publicly trusted certificate
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        print((tmp_path / "api.log").read_text()[-3000:])
