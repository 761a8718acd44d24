from __future__ import annotations

from tests.helpers import Ev, calendar, people_json, write_config


def test_weekly_series_with_exdate_counts(tmp_path):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev(
        uid="w1", start="20261005T100000", end="20261005T103000",
        attendees=(";PARTSTAT=ACCEPTED:MAILTO:Alice@ACME.example",),
        extra="RRULE:FREQ=WEEKLY;COUNT=10\nEXDATE;TZID=Europe/Berlin:20261012T100000",
    )))
    config = write_config(tmp_path, [ics])
    rows = people_json(config, "2026-11-01T12:00:00+01:00")
    alice = rows["alice@acme.example"]
    assert (alice["meetings"], alice["one_on_ones"]) == (3, 3)
    assert alice["last_met"] == "2026-10-26T10:00:00+01:00"
    assert alice["next_meeting"] == "2026-11-02T10:00:00+01:00"
