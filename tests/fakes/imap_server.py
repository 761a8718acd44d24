"""A real IMAP server for the tests: Dovecot (Debian `dovecot-imapd`) on loopback ports.

One server per test run, with its own base_dir, config, log and mail folders in a temporary
folder of its own (removed at stop). Users live in a passwd-file with plaintext passwords,
written at start (`add_user` hands out the next unused one), so each test gets a fresh, empty
mailbox. Every mailbox has INBOX and a sent folder named "Envoyés" (modified UTF-7 on the wire) that only its RFC 6154
`\\Sent` special-use attribute marks as the sent folder. Ports: plain IMAP with STARTTLS, and
IMAPS, both with the suite's test certificate. At each logout Dovecot logs the messages whose
headers and bodies were fetched (`fetch_counts`): the no-change and never-a-body checks read it.
"""
from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.fakes.smtp_server import TlsFiles

SENT_NAME = "Envoyés"
PASSWORD = "imap-test-password"
USERS = 400
_LOGOUT = re.compile(r"imap\((?P<user>[^)]+)\).*LOGOUT hdr=(?P<hdr>\d+) body=(?P<body>\d+)")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    """A running Dovecot; `add_user()` gives a fresh mailbox."""

    tls: TlsFiles
    folder: Path = Path()  # set by start(): outside pytest's 0700 folders, which the
    # unprivileged Dovecot processes (auth, imap) must be able to reach
    port: int = 0
    ssl_port: int = 0
    process: subprocess.Popen | None = None
    users: set[str] = field(default_factory=set)

    def start(self) -> Dovecot:
        """Write the config and run `dovecot -F` until the IMAP port answers."""
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(binary):
            raise RuntimeError("dovecot is not installed: apt-get install -y dovecot-imapd "
                               "(.ci/run installs it)")
        self.port, self.ssl_port = free_port(), free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="touchbase-dovecot-"))
        self.folder.chmod(0o711)
        (self.folder / "run").mkdir()
        (self.folder / "mail").mkdir()
        (self.folder / "users").write_text("".join(
            f"u{n:03d}:{{PLAIN}}{PASSWORD}::::::\n" for n in range(USERS)))
        (self.folder / "dovecot.conf").write_text(self._config())
        self._give_to_mail_user(self.folder / "mail")
        self.process = subprocess.Popen([binary, "-F", "-c", str(self.folder / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait()
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def add_user(self) -> str:
        """A user whose mailbox is still empty (password PASSWORD); returns the user name."""
        user = f"u{len(self.users):03d}"
        assert len(self.users) < USERS, "raise USERS in tests/fakes/imap_server.py"
        self.users.add(user)
        return user

    def client(self, user: str) -> imaplib.IMAP4:
        """A signed-in imaplib client (plain, on loopback) for setting a mailbox up."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.login(user, PASSWORD)
        return conn

    def append(self, user: str, raw: bytes, folder: str = "INBOX",
               when: datetime | None = None) -> None:
        """APPEND one message to a folder of `user` ("Sent" means the \\Sent folder)."""
        from connectors.mail.imap_names import encode_name, quoted

        name = SENT_NAME if folder == "Sent" else folder
        conn = self.client(user)
        try:
            stamp = imaplib.Time2Internaldate(when) if when else None
            status, data = conn.append(quoted(encode_name(name)), None, stamp, raw)
            assert status == "OK", data
        finally:
            conn.logout()

    def fill(self, user: str, messages: list[tuple[str, bytes]]) -> None:
        """Write many (folder, raw) messages straight into a fresh user's Maildir, much faster
        than APPEND ("Sent" means the \\Sent folder); Dovecot indexes them on first access."""
        from connectors.mail.imap_names import encode_name

        base = self.folder / "mail" / user / "Maildir"
        for n, (folder, raw) in enumerate(messages):
            box = base if folder == "INBOX" else base / f".{encode_name(SENT_NAME if folder == 'Sent' else folder)}"
            for sub in ("cur", "new", "tmp"):
                (box / sub).mkdir(parents=True, exist_ok=True)
            (box / "cur" / f"{1700000000 + n}.M{n}P1.test:2,").write_bytes(raw)
        if os.geteuid() == 0:
            owner = self._mail_ids()
            for root, dirs, files in os.walk(self.folder / "mail" / user):
                for name in [root, *(os.path.join(root, d) for d in dirs),
                             *(os.path.join(root, f) for f in files)]:
                    os.chown(name, *owner)

    def fetch_counts(self, user: str) -> list[tuple[int, int]]:
        """(messages whose headers, whose bodies were fetched) for each logout of `user`."""
        text = (self.folder / "dovecot.log").read_text(errors="replace")
        return [(int(m["hdr"]), int(m["body"])) for m in _LOGOUT.finditer(text)
                if m["user"] == user]

    def wait_for_logouts(self, user: str, count: int) -> list[tuple[int, int]]:
        """The fetch counts once `count` logouts of `user` are in the log."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = self.fetch_counts(user)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.fetch_counts(user)

    def _config(self) -> str:
        owner, group = self._mail_ids()
        internal = "dovecot" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        login = "dovenull" if os.geteuid() == 0 else internal
        root = self.folder
        return f"""
base_dir = {root}/run
state_dir = {root}/run
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {min(owner, 100)}
first_valid_gid = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = yes
ssl_cert = <{self.tls.cert}
ssl_key = <{self.tls.key}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={owner} gid={group} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{SENT_NAME}" {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
imap_logout_format = LOGOUT hdr=%{{fetch_hdr_count}} body=%{{fetch_body_count}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""

    def _mail_ids(self) -> tuple[int, int]:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("dovecot")
            return entry.pw_uid, entry.pw_gid
        return os.geteuid(), os.getegid()

    def _give_to_mail_user(self, path: Path) -> None:
        if os.geteuid() == 0:
            owner, group = self._mail_ids()
            os.chown(path, owner, group)

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                log = (self.folder / "dovecot.log")
                raise RuntimeError(f"dovecot exited at start: {error} "
                                   f"{log.read_text()[-2000:] if log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start")
