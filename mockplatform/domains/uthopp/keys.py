"""The stand-in's signing key and certificate, one pair per environment (test, production-like): made at
first start and kept in the platform's database, so a service provider that trusted the metadata once goes on
trusting it (a reset of the journal keeps them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SigningKey:
    environment: str
    key_pem: str
    cert_pem: str

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        return serialization.load_pem_private_key(self.key_pem.encode(), password=None)  # type: ignore[return-value]

    @property
    def cert_base64(self) -> str:
        """The certificate as metadata carries it (base64 DER, no PEM armour)."""
        return "".join(line for line in self.cert_pem.strip().splitlines() if "-----" not in line)


def generate(environment: str) -> SigningKey:
    """A new RSA 3072 key and a self-signed certificate valid for ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mockplatform SSO stand-in ({environment})"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mockplatform (not 1177, not CGI)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return SigningKey(environment, key_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


def certificate_from_base64(text: str) -> x509.Certificate:
    """A certificate as metadata carries it (base64 DER, whitespace allowed); ValueError if it is none."""
    import base64

    der = base64.b64decode("".join(text.split()), validate=True)
    return x509.load_der_x509_certificate(der)


def pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


__all__ = ["SigningKey", "certificate_from_base64", "generate", "pem_of"]
