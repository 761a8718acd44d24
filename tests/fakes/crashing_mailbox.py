"""An IMAP mailbox source that kills its own process the moment its first batch of mail is
stored: a crash in the middle of a first read, for tests/test_mail_sync.py.

Name it in a source as `type = "tests.fakes.crashing_mailbox:CrashingMailbox"` (same keys as
imap). Nothing in the agent knows about it: the kill is SIGKILL, as a power cut would be.
"""
from __future__ import annotations

import os
import signal

from connectors.base import MailSink
from connectors.mail.imap import ImapMailbox


class CrashingMailbox(ImapMailbox):
    """Reads like ImapMailbox; dies with SIGKILL right after the first batch was stored."""

    type_name = "crashing-imap"

    def fetch_mail(self, state: dict, sink: MailSink) -> dict:
        def crash_after_first(batch: list) -> None:
            sink(batch)
            os.kill(os.getpid(), signal.SIGKILL)

        return super().fetch_mail(state, crash_after_first)
