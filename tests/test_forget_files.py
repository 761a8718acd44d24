"""`forget` reaches past the store: the person's drafts leave the local outbox, and it names the
copies it cannot reach (drafts and mail already in a provider's account)."""
from __future__ import annotations

from agent.privacy import unreachable_copies
from tests.helpers import run_cli
from tests.mail_helpers import ALICE, BOB, drafts, meeting, opened, setup_calendar

AFTER = "2026-10-05T10:45:00+02:00"


def test_forget_removes_the_persons_drafts_from_the_outbox(tmp_path):
    config = setup_calendar(tmp_path, meeting("a", "20261005", "1000", "1030", summary="Chat"),
                            meeting("b", "20261005", "0900", "0930", summary="Other",
                                    people=((BOB, "Bob Baker"),)))
    assert run_cli(config, "run", "--once", now=AFTER).exit_code == 0
    with opened(config) as (cfg, _):
        assert sorted(str(d["To"]) for d in drafts(cfg)) == [
            "Alice Archer <alice@acme.example>", "Bob Baker <bob@acme.example>"]
    result = run_cli(config, "forget", ALICE, "--yes", now=AFTER)
    assert result.exit_code == 0, result.output
    assert "Removed 1 draft(s) and 0 mail(s) to alice@acme.example from the outbox" in result.output
    with opened(config) as (cfg, _):
        assert [str(d["To"]) for d in drafts(cfg)] == ["Bob Baker <bob@acme.example>"]
        for path in (cfg.outbox_path / "Drafts").rglob("*"):
            assert not path.is_file() or ALICE not in path.read_text(errors="replace").lower()


def test_forget_names_what_it_cannot_reach(tmp_path):
    config = setup_calendar(tmp_path)
    with opened(config) as (cfg, store):
        store.db["followups"].insert({"key": "gwork|x", "email": f"{ALICE},{BOB}",
                                      "created_at": "2026-10-01T10:00:00+00:00",
                                      "title": "Chat", "location": "gwork", "kind": "followup"})
        store.db["outgoing"].insert({"created_at": "2026-10-02T08:00:00+00:00", "kind": "digest",
                                     "transport": "office", "attempts": 1,
                                     "raw": f"To: me@acme.example\n\nMeet {ALICE} today\n".encode(),
                                     "sent_at": "2026-10-02T08:00:01+00:00"})
        lines = unreachable_copies(cfg, store, ALICE)
    assert lines == [
        "Cannot reach 1 draft(s) to alice@acme.example in gwork drafts: delete them there yourself.",
        "Cannot reach 1 mail(s) naming alice@acme.example already handed to office (in that "
        "mailbox): delete them there yourself.",
    ]
