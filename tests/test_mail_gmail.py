"""The Gmail mail reader against the Google emulator through google-api-python-client:
metadata only, whole threads, history with exactly one request when nothing changed, 404."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent.configuration.schema import SourceConfig
from agent.errors import AuthError
from connectors.google.connector import GoogleConnector
from tests.fakes.google_api import GoogleEmulator
from tests.fakes.google_setup import write_token
from tests.mail_signal_helpers import ME, NOW, Collected, Mail, mail_context

SCOPE = "https://www.googleapis.com/auth/"


def reader(google: GoogleEmulator, tmp_path: Path, scopes: list[str] | None = None) -> GoogleConnector:
    token = tmp_path / "tokens" / "gmail.json"
    if not token.exists():
        write_token(token, google.grant(scopes))
    source = SourceConfig(name="gmail", type="google",
                          options={"api_endpoint": google.url, "mail": True})
    return GoogleConnector(source, mail_context(tmp_path))


def read(google: GoogleEmulator, tmp_path: Path, state: dict | None = None) -> tuple[Collected, dict]:
    sink = Collected()
    connector = reader(google, tmp_path)
    try:
        return sink, connector.fetch_mail(state or {}, sink)
    finally:
        connector.close()


def deliver(google: GoogleEmulator, mail: Mail, thread: str = "", sent: bool = False) -> dict:
    return google.add_mail(mail.raw(), ["SENT"] if sent else ["INBOX"], thread, mail.when)


def test_first_read_takes_whole_threads_in_the_window_metadata_only(google, tmp_path):
    old = Mail(ME, ["x@acme.example"], when=NOW - timedelta(days=400))
    first = deliver(google, old, sent=True)
    deliver(google, old.reply("x@acme.example", [ME], NOW - timedelta(days=3)), first["threadId"])
    outside = Mail("y@acme.example", [ME], when=NOW - timedelta(days=300))
    deliver(google, outside)
    sink, state = read(google, tmp_path)
    keys = {m.key for m in sink}
    assert len(keys) == 2 and old.message_id in keys and outside.message_id not in keys
    assert {m.thread for m in sink} == {f"gmail:{first['threadId']}"}
    assert state["history_id"] == str(google.history_id)
    threads = [q for method, q in google.queries if method == "threads.get"]
    assert threads and all(q["format"] == ["metadata"] for q in threads)
    assert all("snippet" not in q["fields"][0] and "Subject" not in q["metadataHeaders"]
               for q in threads)


def test_no_new_mail_is_exactly_one_request(google, tmp_path):
    deliver(google, Mail("x@acme.example", [ME]))
    _, state = read(google, tmp_path)
    google.reset_counts()
    sink, again = read(google, tmp_path, state)
    assert list(sink) == [] and again == state
    api = [method for method, _ in google.log if not method.startswith("oauth.")]
    assert api == ["history.list"]


def test_new_mail_comes_from_history_with_its_thread(google, tmp_path):
    start = deliver(google, Mail(ME, ["x@acme.example"]), sent=True)
    _, state = read(google, tmp_path)
    answer = Mail("x@acme.example", [ME], when=NOW - timedelta(hours=1))
    deliver(google, answer, start["threadId"])
    sink, new_state = read(google, tmp_path, state)
    assert answer.message_id in {m.key for m in sink} and len(sink) == 2
    assert int(new_state["history_id"]) > int(state["history_id"])


def test_an_expired_history_id_means_one_full_read(google, tmp_path):
    mail = Mail("x@acme.example", [ME])
    deliver(google, mail)
    _, state = read(google, tmp_path)
    google.expire_history()
    google.reset_counts()
    sink, again = read(google, tmp_path, state)
    assert [m.key for m in sink] == [mail.message_id]
    assert google.counts["history.list"] == 1 and google.counts["users.getProfile"] == 1


def test_list_markers_and_missing_date(google, tmp_path):
    listed = Mail("x@acme.example", [ME], extra={"List-Id": "<all.acme.example>"})
    undated = Mail("x@acme.example", [ME], when=None)
    deliver(google, listed)
    google.add_mail(undated.raw(), ["INBOX"], received=NOW - timedelta(days=1))
    found = read(google, tmp_path)[0].by_key()
    assert found[listed.message_id].bulk and not found[undated.message_id].bulk
    assert found[undated.message_id].instant == NOW - timedelta(days=1)


def test_a_sign_in_without_gmail_readonly_cannot_read_mail(google, tmp_path):
    connector = reader(google, tmp_path, scopes=[SCOPE + "calendar.events", SCOPE + "gmail.compose"])
    with pytest.raises(AuthError, match="gmail.readonly"):
        connector.fetch_mail({}, Collected())


def test_a_draft_in_a_thread_is_not_mail_that_went_out(google, tmp_path):
    start = deliver(google, Mail("x@acme.example", [ME]))
    draft = Mail(ME, ["x@acme.example"])
    google.add_mail(draft.raw(), ["DRAFT"], start["threadId"], NOW - timedelta(hours=1))
    keys = {m.key for m in read(google, tmp_path)[0]}
    assert draft.message_id not in keys and len(keys) == 1


def test_hostile_headers_through_gmail(google, tmp_path):
    crowd = ", ".join(f"p{i}@acme.example" for i in range(10_000))
    raw = ("From: =?utf-8?q?J=C3=BCrgen?=\r\n <X@Acme.Example>\r\n"
           f"To: me@acme.example,\r\n {crowd}\r\nMessage-ID: <hostile@acme.example>\r\n"
           "Date: not a date\r\nSubject: =?utf-8?q?ZEBRA?=\r\n\r\nbody\r\n").encode()
    google.add_mail(raw, ["INBOX"], received=NOW - timedelta(days=1))
    (message,) = read(google, tmp_path)[0]
    assert message.sender == "x@acme.example" and len(message.recipients) == 10_001
    assert message.instant == NOW - timedelta(days=1)  # an unreadable Date: internalDate
