"""Follow-up drafts and the morning email through the Graph emulator."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from agent.errors import AuthError, SourceError
from connectors.outlook.graph import RetryPolicy
from tests.fakes.graph_fixtures import connector, outlook_config, sign_in

MAIL_ROLES = '[followups]\ntransport = "office"\n[digest]\ntransport = "office"\n'


def draft(key: str = "<followup-1@touchbase>") -> EmailMessage:
    message = EmailMessage()
    message["To"] = "Bob Builder <bob@acme.example>"
    message["Subject"] = "Thanks for today"
    message["Message-ID"] = key
    message.set_content("Thanks, Bob.\n\n[your reflection here]\n")
    message.add_alternative("<p>Thanks, Bob.</p>", subtype="html")
    return message


@pytest.fixture
def office(tmp_path, graph):
    config = outlook_config(tmp_path, graph, extra=MAIL_ROLES)
    output = sign_in(config)
    assert "Mail.ReadWrite" in output and "Mail.Send" in output
    return config


def test_a_draft_lands_once_across_retries_and_crashes(office, graph):
    graph.drop("POST /v1.0/me/messages", when="after")
    conn = connector(office)
    with pytest.raises(SourceError):
        conn.create_draft(draft())
    first = conn.create_draft(draft())
    second = connector(office).create_draft(draft())  # a crash before the follow-up was recorded
    drafts = [m for m in graph.mailbox.messages.values() if m["isDraft"]]
    assert len(drafts) == 1 and first == second == drafts[0]["id"]
    assert drafts[0]["body"] == {"contentType": "html", "content": "<p>Thanks, Bob.</p>\n"}
    assert drafts[0]["toRecipients"] == [{"emailAddress": {"address": "bob@acme.example", "name": "Bob Builder"}}]
    assert graph.mailbox.sent == []  # a draft is never sent
    conn.create_draft(draft("<followup-2@touchbase>"))
    assert len([m for m in graph.mailbox.messages.values() if m["isDraft"]]) == 2


def test_a_429_on_a_draft_is_retried(office, graph):
    graph.inject(429, "POST /v1.0/me/messages", retry_after="2")
    sleeps: list[float] = []
    connector(office, policy=RetryPolicy(sleep=sleeps.append)).create_draft(draft())
    assert sleeps == [2.0]
    assert len(graph.mailbox.messages) == 1


def test_send_mail_answers_202_and_is_kept_in_sent_items(office, graph):
    message = draft()
    del message["Message-ID"]
    connector(office).send(message)
    assert len(graph.mailbox.sent) == 1
    assert graph.mailbox.sent[0]["subject"] == "Thanks for today"
    assert [r.status for r in graph.graph_requests("sendMail")] == [202]


def test_a_504_on_send_is_not_retried_so_mail_is_never_sent_twice(office, graph):
    graph.inject(504, "POST /v1.0/me/sendMail")
    sleeps: list[float] = []
    with pytest.raises(SourceError, match="sendMail: HTTP 504"):
        connector(office, policy=RetryPolicy(sleep=sleeps.append)).send(draft())
    assert sleeps == [] and len(graph.graph_requests("sendMail")) == 1


def test_mail_without_the_mail_permission_asks_to_sign_in_again(tmp_path, graph):
    config = outlook_config(tmp_path, graph)  # mail goes elsewhere: only Calendars.ReadWrite
    assert "Mail" not in sign_in(config)
    with pytest.raises(AuthError, match="touchbase auth outlook --source office"):
        connector(config).create_draft(draft())
