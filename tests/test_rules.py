"""Each counting rule of DESIGN.md "What counts as a meeting with a colleague", one fixture each.

Every test goes through the real path: `touchbase sync` reads the fixture with the ICS connector
into a SQLite store, and `touchbase people --json` reports the figures as of a fixed --now.
The fixtures are small exports in the shape Google, Outlook and Apple write them.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.helpers import people_json, write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-02T12:00:00+01:00"  # a Monday, a week after Europe/Berlin left summer time


def people(tmp_path: Path, fixture: str, now: str = NOW, **config: object) -> dict[str, dict]:
    """Sync one fixture and return `people --json` keyed by address."""
    path = write_config(tmp_path, [FIXTURES / fixture], **config)  # type: ignore[arg-type]
    return people_json(path, now)


def figures(row: dict, *keys: str) -> tuple:
    """Some fields of one row, in order."""
    return tuple(row[key] for key in keys)


COUNTS = ("meetings", "one_on_ones", "organised_by_user", "organised_by_them")


# --- recurrence: series, EXDATE, cancelled, moved -------------------------------------------


def test_weekly_series_with_exdate_list_counts_each_remaining_instance(tmp_path):
    rows = people(tmp_path, "rule_weekly_series_exdate.ics")
    alice = rows["alice@acme.example"]
    # Mondays Sep 7 .. Nov 2 minus the three EXDATEs (Sep 21; Oct 5 and 19 on one line).
    assert figures(alice, *COUNTS) == (6, 6, 0, 6)
    assert alice["name"] == "Alice Doe"
    assert alice["last_met"] == "2026-11-02T10:00:00+01:00"
    assert alice["next_meeting"] == "2026-11-09T10:00:00+01:00"
    assert alice["typical_gap_days"] == 14.0
    assert set(rows) == {"alice@acme.example"}


def test_cancelled_series_and_cancelled_single_event_do_not_count(tmp_path):
    rows = people(tmp_path, "rule_cancelled_series.ics")
    assert "alice@acme.example" not in rows  # the whole series is STATUS:CANCELLED
    bob = rows["bob@acme.example"]
    assert figures(bob, *COUNTS) == (1, 1, 1, 0)
    assert bob["last_met"] == "2026-10-15T11:30:00+02:00"


def test_cancelled_exceptions_remove_one_instance_each(tmp_path):
    rows = people(tmp_path, "rule_cancelled_exception.ics")
    carol = rows["carol@acme.example"]
    # Six Wednesdays from Sep 30; Oct 14 and Nov 4 are cancelled exceptions.
    assert figures(carol, *COUNTS) == (4, 4, 0, 4)
    assert carol["last_met"] == "2026-10-28T14:00:00+01:00"
    assert carol["next_meeting"] is None
    assert carol["typical_gap_days"] == 7.0


def test_moved_instances_count_at_their_new_time(tmp_path):
    rows = people(tmp_path, "rule_moved_instance.ics")
    dan = rows["dan@acme.example"]
    # Thursdays Oct 1, 8, 22 as planned; Oct 15 moved to Fri Oct 16; Nov 5 pulled forward to
    # Fri Oct 30; Oct 29 pushed past now to Tue Nov 3.
    assert figures(dan, *COUNTS) == (5, 5, 0, 5)
    assert dan["last_met"] == "2026-10-30T11:00:00+01:00"
    assert dan["next_meeting"] == "2026-11-03T15:00:00+01:00"


def test_moved_instances_across_the_window_start(tmp_path):
    rows = people(tmp_path, "rule_moved_across_window.ics", colleague_keys="window_days = 28")
    erin = rows["erin@acme.example"]
    # Window from Oct 5 12:00. In it: Oct 6 (moved in from Sep 28), Oct 12 has moved out to
    # Sep 30, Oct 19, Oct 26, Nov 2. Oct 5 10:00 is two hours before the window starts.
    assert figures(erin, *COUNTS) == (4, 4, 0, 4)
    assert erin["meetings_past_year"] == 9
    assert erin["last_met"] == "2026-11-02T10:00:00+01:00"
    assert erin["next_meeting"] == "2026-11-09T10:00:00+01:00"


# --- who took part ------------------------------------------------------------------------


def test_user_declines_do_not_count_tentative_and_unanswered_do(tmp_path):
    rows = people(tmp_path, "rule_user_declined.ics")
    bob = rows["bob@acme.example"]
    assert figures(bob, *COUNTS) == (1, 1, 0, 1)  # the Oct 14 meeting was declined
    assert bob["last_met"] == "2026-10-21T15:00:00+02:00"
    carol = rows["carol@acme.example"]
    assert figures(carol, *COUNTS) == (4, 4, 0, 4)  # one instance of five declined
    assert carol["last_met"] == "2026-10-29T16:00:00+01:00"
    dora = rows["dora@acme.example"]
    assert figures(dora, *COUNTS) == (2, 2, 0, 2)  # tentative and needs-action still count
    assert "evan@acme.example" not in rows  # the user declined the whole series


def test_colleague_declines_count_only_against_that_colleague(tmp_path):
    rows = people(tmp_path, "rule_colleague_declined.ics")
    alice = rows["alice@acme.example"]
    # Oct 20: Bob declined, so it is a 1:1 with Alice; Oct 22: Bob tentative, three people.
    assert figures(alice, *COUNTS) == (2, 1, 2, 0)
    bob = rows["bob@acme.example"]
    assert figures(bob, *COUNTS) == (1, 0, 1, 0)
    assert bob["last_met"] == "2026-10-22T14:00:00+02:00"
    dana = rows["dana@acme.example"]
    assert figures(dana, *COUNTS) == (3, 3, 3, 0)  # declined one instance of four
    assert dana["last_met"] == "2026-10-28T11:00:00+01:00"
    assert "frank@acme.example" not in rows  # the organiser declined his own meeting


def test_user_as_organiser_not_listed_as_attendee_counts(tmp_path):
    rows = people(tmp_path, "rule_organiser_not_attendee.ics")
    bob = rows["bob@acme.example"]
    # Outlook: Tuesdays Oct 6 .. Nov 24, EXDATE Oct 13 and 20 on one line, Windows zone name.
    assert figures(bob, *COUNTS) == (2, 2, 2, 0)
    assert bob["name"] == "Bob Stone"
    assert bob["last_met"] == "2026-10-27T10:30:00+01:00"
    assert bob["next_meeting"] == "2026-11-03T10:30:00+01:00"


def test_user_alias_addresses_are_the_user(tmp_path):
    rows = people(tmp_path, "rule_user_aliases.ics",
                  user_keys='aliases = ["Me.Old@acme.example", "ME@acme-corp.example"]')
    bob = rows["bob@acme.example"]
    # Organised from the old address; declined on the corp alias (not counted); accepted on
    # the alias; invited on both the main and old address (still a 1:1).
    assert figures(bob, *COUNTS) == (3, 3, 1, 2)
    assert "me.old@acme.example" not in rows


def test_without_aliases_the_old_address_is_a_colleague(tmp_path):
    rows = people(tmp_path, "rule_user_aliases.ics")
    assert rows["me.old@acme.example"]["meetings"] == 1  # the Oct 19 invitation
    bob = rows["bob@acme.example"]
    # Oct 12 (organised by me.old, the user not on it) and Oct 14/16 (the user is not invited
    # on a known address) do not count; Oct 19 counts, with two other people.
    assert figures(bob, *COUNTS) == (1, 0, 0, 1)


# --- who is a colleague -------------------------------------------------------------------


def test_rooms_and_resources_are_not_people(tmp_path):
    rows = people(tmp_path, "rule_room_not_a_person.ics")
    assert "room-fjord@acme.example" not in rows
    assert "beamer-4@acme.example" not in rows
    alice = rows["alice@acme.example"]
    # Oct 13 is a 1:1 despite two rooms; Oct 15 has 8 people besides the user plus a room and
    # a beamer, so it is still small enough.
    assert figures(alice, *COUNTS) == (2, 1, 2, 0)
    assert rows["hana@acme.example"]["meetings"] == 1
    assert len(rows) == 8


def test_internal_domains_keep_externals_out_but_in_the_head_count(tmp_path):
    rows = people(tmp_path, "rule_internal_domains.ics")
    assert set(rows) == {"alice@acme.example", "sam@eng.acme.example"}
    alice = rows["alice@acme.example"]
    assert figures(alice, *COUNTS) == (1, 0, 1, 0)  # Pat (external) was there too
    sam = rows["sam@eng.acme.example"]  # a subdomain of an internal domain is internal
    assert figures(sam, *COUNTS) == (1, 1, 1, 0)


def test_no_internal_domains_means_everyone_counts(tmp_path):
    rows = people(tmp_path, "rule_internal_domains.ics", internal=[])
    assert set(rows) == {"alice@acme.example", "pat@vendor.example", "sam@eng.acme.example",
                         "tess@notacme.example"}
    assert figures(rows["pat@vendor.example"], *COUNTS) == (2, 1, 1, 1)


def test_max_attendees_boundary(tmp_path):
    rows = people(tmp_path, "rule_max_attendees_boundary.ics")
    # Oct 5: exactly 8 others (counts); Oct 6: 9 others (does not); Oct 7: 9 invited but Iris
    # declined, so 8 people besides the user (counts).
    anna = rows["anna@acme.example"]
    assert figures(anna, *COUNTS) == (2, 0, 2, 0)
    assert anna["last_met"] == "2026-10-07T15:00:00+02:00"
    assert rows["hugo@acme.example"]["meetings"] == 2
    assert "iris@acme.example" not in rows


def test_max_attendees_is_configurable(tmp_path):
    rows = people(tmp_path, "rule_colleague_declined.ics", colleague_keys="max_attendees = 1")
    # Only meetings with one other person remain: Oct 20 (Bob declined) and Dana's 1:1s.
    assert figures(rows["alice@acme.example"], *COUNTS) == (1, 1, 1, 0)
    assert "bob@acme.example" not in rows
    assert rows["dana@acme.example"]["meetings"] == 3


def test_group_invitation_makes_the_meeting_not_count(tmp_path):
    rows = people(tmp_path, "rule_group_invitation.ics")
    assert set(rows) == {"alice@acme.example"}
    alice = rows["alice@acme.example"]
    assert figures(alice, *COUNTS) == (1, 1, 1, 0)
    assert alice["last_met"] == "2026-10-15T16:00:00+02:00"


def test_excluded_addresses_are_not_colleagues_but_still_people(tmp_path):
    rows = people(tmp_path, "rule_exclude.ics", colleague_keys='exclude = ["Assistant@ACME.example"]')
    assert set(rows) == {"alice@acme.example"}
    assert figures(rows["alice@acme.example"], *COUNTS) == (1, 0, 1, 0)


def test_colleague_aliases_map_old_addresses(tmp_path):
    rows = people(tmp_path, "rule_colleague_aliases.ics",
                  colleague_keys='aliases = { "Frank.Old@ACME.example" = "frank@acme.example" }')
    assert set(rows) == {"frank@acme.example"}
    frank = rows["frank@acme.example"]
    # Sep 10 organised by his old address; Oct 22 invited on both: still a 1:1.
    assert figures(frank, *COUNTS) == (3, 3, 2, 1)
    assert frank["last_met"] == "2026-10-22T14:00:00+02:00"


def test_mixed_case_mailto_addresses_are_one_person(tmp_path):
    rows = people(tmp_path, "rule_mixed_case_mailto.ics")
    assert set(rows) == {"alice@acme.example"}
    alice = rows["alice@acme.example"]
    # Oct 6 organised by ALICE@ACME.EXAMPLE, Oct 8 by ME@ACME.EXAMPLE; Oct 13 declined by
    # the user written as MAILTO:ME@acme.example.
    assert figures(alice, *COUNTS) == (2, 2, 1, 1)
    assert alice["last_met"] == "2026-10-08T13:30:00+02:00"


def test_attendee_given_by_email_parameter_and_urn_uuid(tmp_path):
    rows = people(tmp_path, "bug_attendee_urn_uuid_email_param.ics")
    assert set(rows) == {"olga@acme.example"}
    assert figures(rows["olga@acme.example"], *COUNTS) == (1, 1, 1, 0)


# --- what kind of event -------------------------------------------------------------------


def test_all_day_events_do_not_count(tmp_path):
    rows = people(tmp_path, "rule_all_day.ics")
    alice = rows["alice@acme.example"]
    assert figures(alice, *COUNTS) == (1, 1, 1, 0)
    assert alice["last_met"] == "2026-10-22T10:00:00+02:00"
    assert alice["next_meeting"] is None  # the all-day hackathon on Nov 10 is not a meeting


def test_floating_times_are_read_in_the_users_zone(tmp_path):
    rows = people(tmp_path, "rule_floating_times.ics", timezone="America/New_York")
    alice = rows["alice@acme.example"]
    assert alice["last_met"] == "2026-10-20T09:00:00-04:00"
    bob = rows["bob@acme.example"]
    assert figures(bob, *COUNTS) == (3, 3, 3, 0)
    assert bob["last_met"] == "2026-10-30T16:00:00-04:00"
    assert bob["next_meeting"] == "2026-11-06T16:00:00-05:00"
    carol = rows["carol@acme.example"]
    # 08:00 in New York is after now (06:00 there); read in Berlin or UTC it would be past.
    assert carol["meetings"] == 0
    assert carol["next_meeting"] == "2026-11-02T08:00:00-05:00"


def test_floating_times_follow_the_configured_zone_not_the_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    rows = people(tmp_path, "rule_floating_times.ics", timezone="Europe/Berlin")
    assert rows["alice@acme.example"]["last_met"] == "2026-10-20T09:00:00+02:00"
    carol = rows["carol@acme.example"]
    assert carol["meetings"] == 1  # 08:00 Berlin is before 12:00 Berlin
    assert carol["next_meeting"] is None


# --- the time frame -----------------------------------------------------------------------


def test_last_met_is_the_latest_start_before_now_and_next_the_first_after(tmp_path):
    rows = people(tmp_path, "rule_last_next_meeting.ics")
    grace = rows["grace@acme.example"]
    # The 11:30 meeting is still running at 12:00: it started before now, so it is last_met.
    assert grace["meetings"] == 2
    assert grace["last_met"] == "2026-11-02T11:30:00+01:00"
    assert grace["next_meeting"] == "2026-11-20T11:00:00+01:00"  # written in UTC, shown local
    judy = rows["judy@acme.example"]  # starts exactly at now: upcoming, not met yet
    assert (judy["meetings"], judy["last_met"]) == (0, None)
    assert judy["next_meeting"] == "2026-11-02T12:00:00+01:00"
    hank = rows["hank@acme.example"]  # 80 days ahead: inside the 90-day look-ahead
    assert (hank["meetings"], hank["next_meeting"]) == (0, "2027-01-21T10:00:00+01:00")
    assert "ivy@acme.example" not in rows  # 100 days ahead


def test_window_days_boundary_is_inclusive_in_the_users_calendar(tmp_path):
    rows = people(tmp_path, "rule_window_days_boundary.ics", colleague_keys="window_days = 28")
    kim = rows["kim@acme.example"]
    # 28 days before Mon Nov 2 12:00 is Mon Oct 5 12:00 local time (summer time then).
    assert figures(kim, *COUNTS) == (2, 2, 2, 0)
    assert kim["meetings_past_year"] == 3
    assert kim["typical_gap_days"] == 7.0
    assert "lee@acme.example" not in rows  # a minute before the window


def test_window_days_boundary_does_not_depend_on_the_zone_of_now(tmp_path):
    path = write_config(tmp_path, [FIXTURES / "rule_window_days_boundary.ics"],
                        colleague_keys="window_days = 28")
    rows = people_json(path, "2026-11-02T11:00:00Z")  # the same instant as NOW, written in UTC
    assert rows["kim@acme.example"]["meetings"] == 2
    assert rows["kim@acme.example"]["last_met"] == "2026-10-12T12:00:00+02:00"


def test_reciprocity_and_typical_gap(tmp_path):
    rows = people(tmp_path, "rule_reciprocity_gap.ics")
    carol = rows["carol@acme.example"]
    # Carol organised three, the user one, Dan the last (three people: not a 1:1).
    assert figures(carol, *COUNTS) == (5, 4, 1, 3)
    assert carol["name"] == "Carol Hill"
    # Gaps: 14, 16, 19 and 7 days (plus the hour summer time gave back): median 15.
    assert carol["typical_gap_days"] == 15.0
    dan = rows["dan@acme.example"]
    assert figures(dan, *COUNTS) == (1, 0, 0, 1)
    assert dan["typical_gap_days"] is None


def test_rows_are_ordered_by_meetings_then_address(tmp_path):
    rows = list(people(tmp_path, "rule_colleague_declined.ics").values())
    assert [r["email"] for r in rows] == ["dana@acme.example", "alice@acme.example",
                                          "bob@acme.example"]


def test_a_zone_the_file_does_not_define_is_read_in_the_users_zone(tmp_path):
    rows = people(tmp_path, "bug_unknown_tzid_read_as_floating.ics", timezone="America/New_York")
    assert rows["alice@acme.example"]["last_met"] == "2026-10-20T09:00:00-04:00"


DEFAULT_CONFIG_FIXTURES = (
    "rule_weekly_series_exdate.ics", "rule_cancelled_series.ics", "rule_cancelled_exception.ics",
    "rule_moved_instance.ics", "rule_user_declined.ics", "rule_colleague_declined.ics",
    "rule_organiser_not_attendee.ics", "rule_room_not_a_person.ics",
    "rule_internal_domains.ics", "rule_max_attendees_boundary.ics", "rule_group_invitation.ics",
    "rule_mixed_case_mailto.ics", "rule_all_day.ics", "rule_last_next_meeting.ics",
    "rule_reciprocity_gap.ics",
)


def test_one_calendar_with_every_case_adds_up(tmp_path):
    """All the default-config fixtures as sources of one config: each colleague's figures are
    the sum (and the latest / earliest) of the figures from each fixture alone."""
    expected: dict[str, dict] = {}
    for number, name in enumerate(DEFAULT_CONFIG_FIXTURES):
        (tmp_path / str(number)).mkdir()
        for email, row in people(tmp_path / str(number), name).items():
            total = expected.setdefault(email, {**row, "meetings": 0, "one_on_ones": 0,
                                                "organised_by_user": 0, "organised_by_them": 0,
                                                "last_met": None, "next_meeting": None})
            for key in COUNTS:
                total[key] += row[key]
            total["last_met"] = max(filter(None, [total["last_met"], row["last_met"]]),
                                    key=datetime.fromisoformat, default=None)
            total["next_meeting"] = min(filter(None, [total["next_meeting"], row["next_meeting"]]),
                                        key=datetime.fromisoformat, default=None)
    combined_dir = tmp_path / "all"
    combined_dir.mkdir()
    config = write_config(combined_dir, [FIXTURES / name for name in DEFAULT_CONFIG_FIXTURES])
    rows = people_json(config, NOW)
    assert set(rows) == set(expected)
    for email, total in expected.items():
        row = rows[email]
        assert figures(row, *COUNTS, "last_met", "next_meeting") == figures(
            total, *COUNTS, "last_met", "next_meeting"), email
