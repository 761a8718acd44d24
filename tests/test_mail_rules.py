"""What two-way mail counts as contact: each counting rule and each exclusion pinned, the
figures (`email_threads`, `last_emailed`, `last_contact`, status) through the CLI, forget."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.inference import MeetingRules
from agent.mail_signal import store_messages
from agent.model import MailMessage
from agent.storage.store import Store
from tests.helpers import run_cli, write_config
from tests.mail_signal_helpers import ME, NOW

X = "x@acme.example"
NOW_TEXT = NOW.isoformat()


class Mailbox:
    """A config and a store that messages are put into as a mail sync would."""

    def __init__(self, tmp_path: Path, **config_keys: str) -> None:
        self.config_path = write_config(tmp_path, **config_keys)  # type: ignore[arg-type]
        self.config = load_config(self.config_path)
        self.n = 0

    def put(self, sender: str, to: list[str], days_ago: float, thread: str = "t",
            cc: list[str] = (), bulk: bool = False) -> None:
        self.n += 1
        message = MailMessage(f"m{self.n}@acme.example", f"test:{thread}", sender, tuple(to + list(cc)),
                              NOW - timedelta(days=days_ago), bulk=bulk)
        store = Store(self.config.store_path)
        try:
            store_messages(store, "mail", [message], MeetingRules(self.config))
        finally:
            store.close()

    def exchange(self, who: str = X, thread: str = "t", first: float = 10, second: float = 9) -> None:
        self.put(ME, [who], first, thread)
        self.put(who, [ME], second, thread)

    def people(self) -> dict[str, dict]:
        result = run_cli(self.config_path, "people", "--json", now=NOW_TEXT)
        assert result.exit_code == 0, result.output
        return {row["email"]: row for row in json.loads(result.output)}


@pytest.fixture
def box(tmp_path):
    return Mailbox(tmp_path)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).astimezone(load_zone()).isoformat()


def load_zone():
    from zoneinfo import ZoneInfo
    return ZoneInfo("Europe/Berlin")


def test_a_two_way_thread_counts_and_a_colleague_known_only_from_mail_is_listed(box):
    box.exchange()
    row = box.people()[X]
    assert row["email_threads"] == 1 and row["last_emailed"] == at(9)
    assert row["meetings"] == 0 and row["last_contact"] == at(9) and row["last_met"] is None


def test_either_side_may_start_the_thread(box):
    box.put(X, [ME], 5, "a")
    box.put(ME, [X], 4, "a")
    assert box.people()[X]["email_threads"] == 1


def test_one_way_mail_is_not_contact(box):
    box.put(X, [ME], 3, "in-only")
    box.put(X, [ME], 2, "in-only")
    box.put(ME, [X], 1, "out-only")
    assert X not in box.people()


def test_threads_are_counted_apart(box):
    box.exchange(thread="a", first=30, second=29)
    box.exchange(thread="b", first=3, second=2)
    box.put(ME, [X], 1, "c")  # one-way: not a thread with X
    row = box.people()[X]
    assert row["email_threads"] == 2 and row["last_emailed"] == at(2)


def test_the_first_message_may_be_older_than_the_window(box):
    box.exchange(first=400, second=2)
    assert box.people()[X]["email_threads"] == 1


def test_a_thread_whose_latest_message_left_the_window_does_not_count(box):
    box.exchange(first=200, second=181)
    assert X not in box.people()
    box.put(X, [ME], 179)  # a third message brings the same thread back into the window
    assert box.people()[X]["email_threads"] == 1


def test_mail_after_now_does_not_count(box):
    box.exchange(first=2, second=-1)
    assert X not in box.people()


@pytest.mark.parametrize(("others", "counts"), [(4, True), (5, True), (6, False)])
def test_at_most_five_addresses_besides_the_user(box, others, counts):
    crowd = [f"c{i}@acme.example" for i in range(others - 1)]
    box.put(ME, [X] + crowd[:2], 5, cc=crowd[2:])
    box.put(X, [ME] + crowd, 4)
    assert (X in box.people()) is counts


def test_ten_thousand_recipients_do_not_count(box):
    crowd = [f"p{i}@acme.example" for i in range(10_000)]
    box.put(ME, [X] + crowd, 5)
    box.put(X, [ME] + crowd, 4)
    assert X not in box.people()


def test_the_user_is_not_counted_among_the_five(tmp_path):
    box = Mailbox(tmp_path, user_keys='aliases = ["me.alias@acme.example"]')
    crowd = [f"c{i}@acme.example" for i in range(4)]
    box.put(ME, [X, "me.alias@acme.example"] + crowd, 5)  # 5 besides the user, alias included
    box.put(X, [ME], 4)
    people = box.people()
    assert people[X]["email_threads"] == 1 and "me.alias@acme.example" not in people


def test_bulk_mail_does_not_count(box):
    box.put(ME, [X], 5)
    box.put(X, [ME], 4, bulk=True)
    assert X not in box.people()


def test_mail_where_the_user_is_neither_sender_nor_recipient_does_not_count(box):
    box.put(ME, [X], 5)
    box.put(X, ["other@acme.example"], 4)  # the user only in Bcc
    assert X not in box.people()


def test_only_colleagues_count(tmp_path):
    box = Mailbox(tmp_path, colleague_keys='exclude = ["boss@acme.example"]')
    for who in ("boss@acme.example", "friend@gmail.example", "y@eu.acme.example"):
        box.exchange(who, thread=who)
    people = box.people()
    assert "boss@acme.example" not in people and "friend@gmail.example" not in people
    assert people["y@eu.acme.example"]["email_threads"] == 1  # a subdomain is internal


def test_colleague_aliases_are_mapped(tmp_path):
    box = Mailbox(tmp_path, colleague_keys='aliases = { "old@acme.example" = "x@acme.example" }')
    box.put(ME, ["old@acme.example"], 5)
    box.put(X, [ME], 4)
    assert box.people()[X]["email_threads"] == 1


def test_last_contact_is_the_latest_of_met_logged_and_emailed_and_status_follows(box):
    box.exchange(first=50, second=40)
    assert run_cli(box.config_path, "rate", X, "--vital", "5", now=NOW_TEXT).exit_code == 0
    assert box.people()[X]["status"] == "due"  # 40 days against a 30-day cadence
    box.exchange(thread="recent", first=3, second=2)
    row = box.people()[X]
    assert row["last_contact"] == at(2) and row["status"] == "on track"
    assert run_cli(box.config_path, "log", X, "--when", at(1), now=NOW_TEXT).exit_code == 0
    assert box.people()[X]["last_contact"] == at(1)


def test_person_json_and_text(box):
    box.exchange()
    result = run_cli(box.config_path, "person", X, "--json", now=NOW_TEXT)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["email_threads"] == 1 and data["last_emailed"] == at(9)
    text = run_cli(box.config_path, "person", X, now=NOW_TEXT).output
    assert "1 two-way thread(s)" in text and "(email)" in text


def test_the_morning_email_says_last_contact_email(box):
    box.exchange(first=50, second=45)
    assert run_cli(box.config_path, "rate", X, "--vital", "5", now=NOW_TEXT).exit_code == 0
    result = run_cli(box.config_path, "digest", "--preview", now=NOW_TEXT)
    assert "last contact: email, " in result.output, result.output


def test_forget_scrubs_mail_rows_and_later_syncs_leave_them_out(box):
    box.exchange()
    result = run_cli(box.config_path, "forget", X, "--yes", now=NOW_TEXT)
    assert result.exit_code == 0, result.output
    assert X not in box.people()
    box.exchange(thread="again", first=2, second=1)
    assert X not in box.people()
    store = Store(box.config.store_path)
    try:
        assert store.conn.execute("SELECT count(*) FROM mail_contacts").fetchone()[0] == 0
    finally:
        store.close()


def test_export_includes_the_figures(box):
    box.exchange()
    result = run_cli(box.config_path, "export", now=NOW_TEXT)
    colleagues = {c["email"]: c for c in json.loads(result.output)["colleagues"]}
    assert colleagues[X]["email_threads"] == 1 and colleagues[X]["last_emailed"] == at(9)
