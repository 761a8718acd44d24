"""A mail-account backend kept in a folder: what a google/outlook source's `create_draft` and
`send` would receive, for testing the mail-account transport without a provider emulator.

Configure it in Python (the TOML schema only knows the built-in types):
`SourceConfig(name="mailbox", type="tests.fakes.mail_account:FolderMailAccount",
options={"path": str(folder), "fail": ""})`; a non-empty `fail` makes every call fail.
"""
from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from agent.errors import SourceError
from agent.model import Changes
from connectors.base import Connector


class FolderMailAccount(Connector):
    """Drafts go to PATH/drafts, sent mail to PATH/sent, one .eml file each."""

    type_name = "folder-mail"
    is_mail_account = True

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        return Changes(unchanged=True), state

    def create_draft(self, message: EmailMessage) -> str:
        return self._keep("drafts", message)

    def send(self, message: EmailMessage) -> None:
        self._keep("sent", message)

    def find_sent(self, message_id: str) -> bool | None:
        folder = Path(self.source.options["path"]) / "sent"
        if self.source.options.get("cannot_look"):
            return None
        wanted = message_id.strip()
        for path in folder.glob("*.eml") if folder.is_dir() else []:
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            if str(parsed.get("Message-ID", "")).strip() == wanted:
                return True
        return False

    def _keep(self, box: str, message: EmailMessage) -> str:
        if self.source.options.get("fail"):
            raise SourceError(self.name, self.source.options["fail"])
        folder = Path(self.source.options["path"]) / box
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{len(list(folder.iterdir())) + 1:03d}.eml"
        target.write_bytes(message.as_bytes(policy=policy.SMTP))
        return target.name
