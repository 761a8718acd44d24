"""A real SMTP server for tests: aiosmtpd on a loopback port, with TLS and login.

`make_tls_files` writes a throw-away CA and a server certificate for 127.0.0.1 / localhost
(generated with the `cryptography` package); `SmtpServer` runs aiosmtpd with STARTTLS or
implicit TLS, optionally requiring a login, and keeps every message it accepts.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TlsFiles:
    """PEM files: the CA clients trust, and the server's certificate chain and key."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """The server side TLS context."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def make_tls_files(folder: Path) -> TlsFiles:
    """A CA and a server certificate for localhost and 127.0.0.1, valid for a day."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "touchbase test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return files


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the email library."""
        return message_from_bytes(self.raw, _class=EmailMessage, policy=policy.default)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content, login))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    def factory(self):
        # Implicit TLS needs auth_require_tls=False (see below); aiosmtpd warns about it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return super().factory()


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`; `security` is starttls, ssl or none; `handler` answers
    the mail instead of keeping it in `received` (e.g. a server that refuses it)."""

    def __init__(self, tls: TlsFiles | None, security: str = "starttls", port: int | None = None,
                 users: dict[str, str] | None = None, handler: object | None = None) -> None:
        self.port = port or free_port()
        self.users = users or {}
        self.handler = _Handler()
        kwargs: dict = {"auth_required": bool(self.users), "authenticator": self._authenticate}
        if security == "starttls":
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        elif security == "ssl":
            # The whole connection is TLS, but aiosmtpd only tracks STARTTLS: let it offer AUTH.
            kwargs.update(ssl_context=tls.server_context(), auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        # `handler` (aiosmtpd's handle_DATA & co.) replaces the one that keeps what it accepts.
        self.controller = _Controller(handler or self.handler, hostname="127.0.0.1", port=self.port,
                                      **kwargs)

    @property
    def received(self) -> list[Received]:
        """Every message accepted so far."""
        return self.handler.received

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        return AuthResult(success=self.users.get(user) == password, handled=False,
                          auth_data=auth_data)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
