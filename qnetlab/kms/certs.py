"""Certificates for a test key network: a local CA, a certificate per KME and per SAE.

Made with ``cryptography`` (EC P-256, SHA-256).  The subject common name is the
identity the KMEs check: a KME's ``kme_id`` (server and client auth, SAN IP of its
host and ``localhost``) or an SAE's ID (client auth).  Written to
``<state>/certs/``: ``ca.pem``, ``<name>.pem``, ``<name>.key`` (private keys mode
0o600, the directory 0o700).  Real labs bring certificates from their own CA in the
same layout.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

__all__ = ["cert_paths", "make_network_certs"]


def cert_paths(state_dir: Path, name: str) -> tuple[Path, Path]:
    """(certificate, private key) of ``name`` under ``<state>/certs``."""
    d = Path(state_dir) / "certs"
    return d / f"{name}.pem", d / f"{name}.key"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def make_network_certs(network, state_dir: Path, days: int = 30, overwrite: bool = False) -> list[Path]:
    """Make a CA and a certificate for every KME and SAE of ``network``; returns the files written."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out_dir = Path(state_dir) / "certs"
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    ca_path = out_dir / "ca.pem"
    if ca_path.exists() and not overwrite:
        raise FileExistsError(f"{ca_path} exists; pass overwrite to make a new CA and certificates")
    now = dt.datetime.now(dt.UTC)
    key_pem = {
        "encoding": serialization.Encoding.PEM,
        "format": serialization.PrivateFormat.PKCS8,
        "encryption_algorithm": serialization.NoEncryption(),
    }

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"qnetlab {network.name}"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"{network.name} test CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .sign(ca_key, hashes.SHA256())
    )
    written = [ca_path]
    _write(ca_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)

    def issue(cn: str, server_ips: list[str] | None) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server_ips else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if server_ips:
            alt = [x509.DNSName("localhost")] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path, key_path = cert_paths(state_dir, cn)
        _write(key_path, key.private_bytes(**key_pem), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        written.extend([cert_path, key_path])

    for node in network.nodes.values():
        issue(node.kme_id, sorted({node.host, "127.0.0.1"}))
    for sae in network.saes:
        issue(sae, None)
    return written
