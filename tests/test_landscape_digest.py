"""The landscape in the morning email: capacity, one-way relationships, letting go, pauses and
the compact matrix, each section present exactly when it applies; HTML escaped and offline."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from agent.digest.morning import build_digest
from agent.planning import touchbases as tb
from agent.planning.planner import Planner
from agent.ratings import pause
from agent.storage.installation_key import installation_key
from tests.helpers import USER, Ev, calendar, run_cli, write_config
from tests.mail_helpers import opened, outbox_mail, parts

NOW = "2026-11-05T09:00:00+01:00"  # a Thursday: no Friday list in the way
NOW_DT = datetime.fromisoformat(NOW)
EVIL = "<script>alert(1)</script>"


def one_on_one(uid: str, who: str, day: datetime, organizer: str = USER, name: str = "") -> Ev:
    """A 30-minute 1:1 of the user with `who` on `day` at 10:00."""
    cn = f";CN={name}" if name else ""
    return Ev(uid=uid, start=day.strftime("%Y%m%dT100000"), end=day.strftime("%Y%m%dT103000"),
              organizer=organizer,
              attendees=(f"{cn};PARTSTAT=ACCEPTED:mailto:{who}", f";PARTSTAT=ACCEPTED:mailto:{USER}"))


def series(who: str, days_ago: list[int], them: int = 0, name: str = "") -> list[Ev]:
    """1:1s with `who` that many days before NOW; the first `them` organised by `who`."""
    return [one_on_one(f"{who}-{i}", who, NOW_DT - timedelta(days=ago), who if i < them else USER, name)
            for i, ago in enumerate(days_ago)]


def setup(tmp_path: Path, events: list[Ev], extra: str = "", now: str = NOW) -> Path:
    """Calendar and config written, synced as of `now`; returns the config path."""
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(*events), encoding="utf-8")
    config_path = write_config(tmp_path, [ics], extra=extra)
    result = run_cli(config_path, "sync", now=now)
    assert result.exit_code == 0, result.output
    return config_path


def digest_of(config_path: Path, now: str = NOW):
    with opened(config_path) as (config, store):
        return build_digest(config, store, datetime.fromisoformat(now))


def section(text: str, title: str) -> str | None:
    """The body of one section of the text part, or None when it is not there."""
    match = re.search(rf"^{re.escape(title)}\n-+\n(.*?)(?=\n\n\S[^\n]*\n-+\n|\n\n-- \n)", text, re.S | re.M)
    return match.group(1) if match else None


def keys(digest) -> list[str]:
    return [s.key for s in digest.sections]


def book(config_path: Path, email: str, state: str = tb.ACTIVE) -> None:
    """A touchbase row as the planner records it."""
    with opened(config_path) as (config, store):
        series_id = tb.series_id_for(installation_key(config.data_dir), email, 1)
        tb.save(store, tb.Touchbase(series_id=series_id, email=email, state=state,
                                    created_at=NOW_DT - timedelta(days=3), target="touchbase-local"))


# --- capacity ------------------------------------------------------------------------------

OVERDUE = [100, 110, 120]


def four_overdue() -> list[Ev]:
    return [e for i in range(4) for e in series(f"p{i}@acme.example", [ago + i for ago in OVERDUE])]


def test_capacity_says_who_waits_when_more_are_due_than_free_slots(tmp_path):
    cfg = setup(tmp_path, four_overdue(), extra="[touchbase]\nmax_active = 2\n")
    book(cfg, "p3@acme.example")  # booked, not synced yet: not counted as due
    digest = digest_of(cfg)
    body = section(digest.text, "More people due than you can sustain")
    assert body is not None
    assert body.splitlines()[0] == ("3 people are due but you can sustain 1 more touchbase "
                                    "(max_active = 2, 1 booked); waiting, in priority order:")
    waiting = [line for line in body.splitlines() if line.startswith("- ")]
    assert waiting == ["- [OVERDUE] p1@acme.example", "- [OVERDUE] p0@acme.example"]  # p2 is next
    assert keys(digest).index("capacity") == keys(digest).index("reconnect") + 1


def test_no_capacity_section_when_everyone_due_fits(tmp_path):
    cfg = setup(tmp_path, four_overdue(), extra="[touchbase]\nmax_active = 4\n")
    assert "capacity" not in keys(digest_of(cfg))  # 4 due, 4 free
    book(cfg, "p0@acme.example", state=tb.ENDED)  # an ended series takes no room
    book(cfg, "p1@acme.example", state=tb.PROPOSED)  # nor does a proposal
    assert "capacity" not in keys(digest_of(cfg))
    book(cfg, "p2@acme.example", state=tb.PENDING)  # a series being written does
    assert "capacity" not in keys(digest_of(cfg))  # 3 due, 3 free
    book(cfg, "p9@acme.example")
    body = section(digest_of(cfg).text, "More people due than you can sustain")
    assert body.startswith("3 people are due but you can sustain 2 more touchbases "
                           "(max_active = 4, 2 booked); waiting, in priority order:\n- [OVERDUE] p0@acme.example\n")


def test_capacity_counts_no_room_at_all(tmp_path):
    cfg = setup(tmp_path, four_overdue()[:6], extra="[touchbase]\nmax_active = 1\n")
    book(cfg, "p9@acme.example")
    body = section(digest_of(cfg).text, "More people due than you can sustain")
    assert body.startswith("2 people are due but you can sustain no more touchbases (max_active = 1, 1 booked)")


# --- reciprocity ---------------------------------------------------------------------------

def test_reciprocity_flags_one_way_relationships_gently(tmp_path):
    events = (series("always-me@acme.example", [3, 10, 17, 24, 31]) +
              series("always-them@acme.example", [4, 11, 18, 25], them=4, name="Tess Them") +
              series("balanced@acme.example", [5, 12, 19, 26], them=2))
    digest = digest_of(setup(tmp_path, events))
    body = section(digest.text, "Relationships that run one way")
    assert ("- always-me@acme.example\n    You sent 5 of the 5 invitations between you and "
            "always-me@acme.example.") in body
    assert "- Tess Them\n    Tess Them sent 4 of the 4 invitations between you. Take the initiative" in body
    assert "balanced" not in body
    assert "one way" not in digest.subject  # a suggestion, not a reason to send the email


def test_no_reciprocity_section_when_relationships_go_both_ways(tmp_path):
    events = series("balanced@acme.example", [5, 12, 19, 26], them=2) + series("few@acme.example", [6, 13])
    assert "reciprocity" not in keys(digest_of(setup(tmp_path, events)))


def test_reciprocity_leaves_out_the_paused_and_the_let_go(tmp_path):
    events = (series("paused@acme.example", [3, 10, 17, 24]) + series("gone@acme.example", [4, 11, 18, 25]) +
              series("shown@acme.example", [5, 12, 19, 26]))
    cfg = setup(tmp_path, events)
    with opened(cfg) as (_, store):
        pause(store, "paused@acme.example", NOW_DT + timedelta(days=30), "declined twice")
    assert run_cli(cfg, "let-go", "gone@acme.example", now=NOW).exit_code == 0
    body = section(digest_of(cfg).text, "Relationships that run one way")
    assert "shown@acme.example" in body and "paused@" not in body and "gone@" not in body


# --- letting go ----------------------------------------------------------------------------

def test_let_go_suggested_with_one_command_then_gone_from_every_list(tmp_path):
    events = (series("old@acme.example", [300, 310, 320]) + series("vip@acme.example", [300, 310, 320]) +
              series("recent@acme.example", [100, 110, 120]))
    cfg = setup(tmp_path, events)
    assert run_cli(cfg, "rate", "vip@acme.example", "--vital", "5", now=NOW).exit_code == 0
    digest = digest_of(cfg)
    body = section(digest.text, "Time to let go?")
    assert body.splitlines()[1:] == [
        "- old@acme.example",
        "    not met for 300 days, nothing booked, not rated vital",
        "    touchbase let-go old@acme.example",
    ]
    assert "1 to let go?" in digest.subject
    assert "old@acme.example" in section(digest.text, "Who to reconnect with")

    result = run_cli(cfg, "let-go", "old@acme.example", now=NOW)
    assert result.exit_code == 0, result.output
    friday = "2026-11-06T09:00:00+01:00"
    digest = digest_of(cfg, friday)
    assert "let-go" not in keys(digest)
    assert "old@acme.example" not in digest.text  # not in reconnect, Friday, capacity, matrix
    assert "vip@acme.example" in section(digest.text, "Friday reconnect list")


# --- pauses --------------------------------------------------------------------------------

def test_a_pause_keeps_a_colleague_out_until_it_ends(tmp_path):
    events = series("shy@acme.example", [100, 110, 120]) + series("other@acme.example", [101, 111, 121])
    cfg = setup(tmp_path, events, extra="[touchbase]\nmax_active = 1\n")
    with opened(cfg) as (_, store):
        pause(store, "shy@acme.example", datetime.fromisoformat("2026-11-20T00:00:00+01:00"), "declined twice")

    def seen(now: str) -> dict[str, bool]:
        with opened(cfg) as (config, store):
            moment = datetime.fromisoformat(now)
            digest = build_digest(config, store, moment)
            report = Planner(config, store, moment, apply=False).run()
        return {
            "reconnect": "shy@" in (section(digest.text, "Who to reconnect with") or ""),
            "friday": "shy@" in (section(digest.text, "Friday reconnect list") or ""),
            "capacity": "shy@" in (section(digest.text, "More people due than you can sustain") or ""),
            "planner": "shy@acme.example" in {a.email for a in report.actions},
        }

    during = seen("2026-11-13T09:00:00+01:00")  # a Friday inside the pause
    assert during == {"reconnect": False, "friday": False, "capacity": False, "planner": False}
    after = seen("2026-11-20T09:00:00+01:00")  # the Friday the pause ends
    assert after["reconnect"] and after["friday"]
    assert after["capacity"] or after["planner"]  # one slot: shy is booked first or waits
    later = seen("2026-11-27T09:00:00+01:00")
    assert later["reconnect"] and later["friday"]


# --- the compact matrix --------------------------------------------------------------------

class Page(HTMLParser):
    """Tags, attributes and text of an HTML part."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[tuple[str, str]] = []  # (width, bgcolor) of each coloured cell
        self.values: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.values += [v for _, v in attrs if v]
        values = dict(attrs)
        if tag == "td" and values.get("bgcolor"):
            self.cells.append((values.get("width", ""), values["bgcolor"]))
            assert f"width:{values['width']}; height:10px;" in values["style"]
            assert f"background:{values['bgcolor']};" in values["style"]

    def handle_data(self, data):
        self.text.append(data)


def test_compact_matrix_is_a_table_of_coloured_bars_without_svg_scripts_or_links(tmp_path):
    events = (series("strong@acme.example", [3, 10, 17]) +
              series("weak@acme.example", [200, 210, 220], name=EVIL))
    cfg = setup(tmp_path, events)
    assert run_cli(cfg, "rate", "weak@acme.example", "--vital", "5", now=NOW).exit_code == 0
    digest = digest_of(cfg)
    matrix = next(s for s in digest.sections if s.key == "matrix")
    rows = {row["label"]: row for row in matrix.bars}
    assert rows[EVIL]["quadrant"] == "start here" and rows[EVIL]["importance_pct"] == 100
    assert rows["strong@acme.example"]["quadrant"] == "maintain lightly"

    page = Page()
    page.feed(digest.html)
    assert "svg" not in page.tags and "script" not in page.tags
    assert not re.search(r"(https?:)?//", " ".join(page.values))
    assert "http" not in digest.html.lower() and "<svg" not in digest.html
    strong, weak = rows["strong@acme.example"], rows[EVIL]
    assert 0 < strong["strength_pct"] < 100 and weak["strength_pct"] == 0  # not met in the window
    grey = "#e6e6e6"
    assert page.cells == [  # weak first (start here): strength, importance; then strong
        ("100%", grey), ("100%", weak["colour"]),
        (f"{strong['strength_pct']}%", strong["colour"]), (f"{100 - strong['strength_pct']}%", grey),
        (f"{strong['importance_pct']}%", strong["colour"]), (f"{100 - strong['importance_pct']}%", grey),
    ]
    assert weak["colour"] != strong["colour"]  # overdue red, on track green
    assert EVIL in "".join(page.text)  # shown as text
    assert EVIL not in digest.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in digest.html

    text = section(digest.text, "Your landscape")
    assert f"- [OVERDUE] {EVIL} (start here)" in text
    assert re.search(r"strength #{0,10}-* +\d+%   importance ########## 100%", text)
    assert "start here: Vital but weak" in text


def test_matrix_is_capped_and_points_to_the_map(tmp_path):
    events = [e for i in range(14) for e in series(f"c{i:02d}@acme.example", [3 + i, 10 + i, 17 + i])]
    digest = digest_of(setup(tmp_path, events))
    matrix = next(s for s in digest.sections if s.key == "matrix")
    assert len(matrix.bars) == 12 and matrix.more == 2
    assert "...and 2 more (see: touchbase map --html FILE)" in digest.text


def test_no_landscape_sections_without_tracked_colleagues(tmp_path):
    digest = digest_of(setup(tmp_path, series("once@acme.example", [3])))
    assert keys(digest) == ["health"]


def test_user_data_is_escaped_in_every_landscape_section(tmp_path):
    events = (series("a@acme.example", [300, 310, 320], name=EVIL) +
              series("c@acme.example", [3, 10, 17, 24], them=4, name=EVIL) +
              series("b@acme.example", [100, 110, 120]))
    cfg = setup(tmp_path, events, extra="[touchbase]\nmax_active = 1\n")
    digest = digest_of(cfg)
    assert {"capacity", "reciprocity", "let-go", "matrix"} <= set(keys(digest))
    assert "<script" not in digest.html
    assert digest.html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4


# --- the demo ------------------------------------------------------------------------------

def test_the_demo_morning_email_has_reconnect_capacity_and_reciprocity(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(tmp_path / "none.toml"))
    result = run_cli(None, "demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    with opened(tmp_path / "demo" / "config.toml") as (config, _):
        (mail,) = outbox_mail(config)
    text, html = parts(mail)
    assert "- [OVERDUE] Lucas Moreau" in section(text, "Who to reconnect with")
    capacity = section(text, "More people due than you can sustain")
    assert capacity.startswith("2 people are due but you can sustain 1 more touchbase (max_active = 3, 2 booked)")
    assert "- [DUE] Tom Becker" in capacity
    reciprocity = section(text, "Relationships that run one way")
    assert "Omar Haddad sent 4 of the 5 invitations between you" in reciprocity
    assert section(text, "Your landscape") is not None
    assert "<svg" not in html and "<script" not in html and "http" not in html.lower()
