"""The certificates and keys of the local control plane.

The API server authenticates every client by a certificate signed by a private CA
generated per state directory: the admin (group ``system:masters``), and the
components under the identities the default RBAC bootstrap policy binds
(``system:kube-controller-manager``, ``system:kube-scheduler``, ``system:kube-proxy``,
and the kubelet as ``system:node:<name>`` in ``system:nodes`` for the Node
authorizer). The kubelet serves a CA-signed certificate for its node address and
accepts the API server's kubelet-client certificate. Service-account tokens are
signed by a separate RSA key. Nothing here is meant to be secure beyond a private
dev cluster.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from syncline.devcluster.netns import NODE_IP

NODE_NAME = "syncline-dev"

VALIDITY = datetime.timedelta(days=365)
SERVER_NAMES = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    NODE_NAME,
]
SERVER_IPS = ["127.0.0.1", "10.0.0.1", NODE_IP]


@dataclass(frozen=True)
class CertPair:
    """Paths of a PEM certificate and its private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Every credential file the control plane and its clients use."""

    ca: CertPair
    apiserver: CertPair
    admin: CertPair
    controller_manager: CertPair
    scheduler: CertPair
    proxy: CertPair
    kubelet: CertPair
    kubelet_serving: CertPair
    apiserver_kubelet_client: CertPair
    sa_public: Path
    sa_private: Path


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _make_ca(directory: Path) -> tuple[CertPair, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("syncline-dev-ca")
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pair = CertPair(directory / "ca.crt", directory / "ca.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair, key, cert


def _issue(
    directory: Path,
    stem: str,
    subject: x509.Name,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    *,
    server: bool = False,
) -> CertPair:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = _builder(subject, ca_cert.subject, key.public_key()).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if server:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = CertPair(directory / f"{stem}.crt", directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair


def _service_account_keys(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "sa.key", directory / "sa.pub"
    _write_key(private, key)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public, private


def create_pki(directory: Path) -> Pki:
    """Generate a fresh CA, server and client certificates and service-account keys."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_pair, ca_key, ca_cert = _make_ca(directory)
    ca = (ca_key, ca_cert)
    sa_public, sa_private = _service_account_keys(directory)
    return Pki(
        ca=ca_pair,
        apiserver=_issue(directory, "apiserver", _name("kube-apiserver"), ca, server=True),
        admin=_issue(directory, "admin", _name("syncline-admin", "system:masters"), ca),
        controller_manager=_issue(
            directory, "controller-manager", _name("system:kube-controller-manager"), ca
        ),
        scheduler=_issue(directory, "scheduler", _name("system:kube-scheduler"), ca),
        proxy=_issue(directory, "proxy", _name("system:kube-proxy"), ca),
        kubelet=_issue(directory, "kubelet", _name(f"system:node:{NODE_NAME}", "system:nodes"), ca),
        kubelet_serving=_issue(directory, "kubelet-serving", _name(NODE_NAME), ca, server=True),
        apiserver_kubelet_client=_issue(
            directory,
            "apiserver-kubelet-client",
            _name("kube-apiserver-kubelet-client", "system:masters"),
            ca,
        ),
        sa_public=sa_public,
        sa_private=sa_private,
    )


def load_pki(directory: Path) -> Pki:
    """The file layout written by create_pki, for a state directory that has one."""

    def pair(stem: str) -> CertPair:
        return CertPair(directory / f"{stem}.crt", directory / f"{stem}.key")

    return Pki(
        ca=pair("ca"),
        apiserver=pair("apiserver"),
        admin=pair("admin"),
        controller_manager=pair("controller-manager"),
        scheduler=pair("scheduler"),
        proxy=pair("proxy"),
        kubelet=pair("kubelet"),
        kubelet_serving=pair("kubelet-serving"),
        apiserver_kubelet_client=pair("apiserver-kubelet-client"),
        sa_public=directory / "sa.pub",
        sa_private=directory / "sa.key",
    )


def database_server_pair(directory: Path) -> CertPair:
    """A self-signed certificate for a local database server, so its clients can (and,
    off loopback, must) negotiate TLS. Created once per directory."""
    pair = CertPair(directory / "server.crt", directory / "server.key")
    if pair.cert.exists() and pair.key.exists():
        return pair
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("syncline-dev-database")
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", NODE_IP)]
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair
