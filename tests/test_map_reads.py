"""The map reads at a glance: every dot and label inside the plot (a full-strength dot inside
the right edge, its label inside too), a dot on a quadrant divider drawn on its quadrant's side,
dots on one spot spread apart, labels that overlap nothing; the reconnect table, `person` and
the morning email show contact by month over twelve months (meetings, logged contact, two-way
email), the email with text characters only.

The geometry is read back from the generated HTML (the coordinates the browser draws); the text
width of a label is measured as agent/landscape/map_layout.py measures it, generously.
"""
from __future__ import annotations

import html
import json
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from agent.configuration.loader import load_config
from agent.contact_months import contact_months
from agent.inference import ColleagueStats
from agent.landscape import map_layout as layout
from agent.landscape.map import render_map
from agent.landscape.matrix import Placement
from agent.relationships import DUE, ON_TRACK, OVERDUE, Relationship
from agent.storage import mail_contacts
from agent.storage.mail_contacts import MailContact
from agent.storage.store import Store
from tests.helpers import Ev, calendar, run_cli, write_config

NOW = "2026-03-10T09:00:00+01:00"
NOW_DT = datetime.fromisoformat(NOW)
CIRCLE = re.compile(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"[^>]*><title>([^<]*)</title>')
LABEL = re.compile(r'<text class="label" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)</text>')
QUADRANT = re.compile(r'<text class="quadrant" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')
PLOT = re.compile(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fafafa"')


def geometry(page: str) -> dict:
    """The plot box, dots, labels and quadrant names the page draws."""
    x, y, w, h = map(float, PLOT.search(page).groups())
    dots = [{"x": float(cx), "y": float(cy), "r": float(r), "title": html.unescape(t)}
            for cx, cy, r, t in CIRCLE.findall(page)]
    labels = [layout.text_box(float(lx), float(ly), html.unescape(text), anchor)
              for lx, ly, anchor, text in LABEL.findall(page)]
    names = [layout.text_box(float(qx), float(qy), text, char_width=layout.QUADRANT_CHAR_WIDTH)
             for qx, qy, text in QUADRANT.findall(page)]
    return {"plot": layout.Box(x, y, x + w, y + h), "dots": dots, "labels": labels, "names": names}


def assert_reads_at_a_glance(page: str, every_label: bool = True) -> dict:
    found = geometry(page)
    plot, dots, labels = found["plot"], found["dots"], found["labels"]
    assert dots
    for dot in dots:
        assert layout.dot_box(dot["x"], dot["y"]).inside(plot), dot
    circles = [layout.dot_box(d["x"], d["y"]) for d in dots]
    for i, a in enumerate(circles):
        assert not any(a.overlaps(b) for b in circles[i + 1:]), "dots spread apart"
    for i, box in enumerate(labels):
        assert box.inside(plot), box
        assert not any(box.overlaps(other) for other in labels[i + 1:] + circles + found["names"]), box
    if every_label:
        assert len(labels) == len(dots)
    return found


def relationship(name: str, status: str) -> Relationship:
    email = name.lower().replace(" ", ".") + "@acme.example"
    return Relationship(email=email, name=name, stats=ColleagueStats(email=email), cadence_days=30,
                        status=status, days_since=10)


def placement(name: str, importance: float, strength: float, status: str = ON_TRACK) -> Placement:
    vital, strong = importance >= 0.5, strength >= 0.5
    quadrant = {(True, True): "keep strong", (True, False): "start here", (False, True): "maintain lightly",
                (False, False): "let it rest"}[(vital, strong)]
    return Placement(relationship(name, status), importance, strength, quadrant)


def config(tmp_path: Path):
    return load_config(write_config(tmp_path, []))


def test_edges_dividers_and_crowds_stay_inside_and_apart(tmp_path):
    placements = [
        placement("Maximiliane Alexandrina von Hohenzollern", 1.0, 1.0),  # top right corner, long name
        placement("Ola Full", 0.2, 1.0, DUE),  # full strength: inside the right edge
        placement("Zero Zero", 0.0, 0.0, OVERDUE),
        placement("On The Divider", 0.5, 0.5),  # both dividers: drawn in "keep strong"
        placement("Just Under", 0.499, 0.499, OVERDUE),  # drawn in "let it rest"
        *[placement(f"Crowd Member {i}", 0.9, 0.2, OVERDUE) for i in range(12)],  # one spot
    ]
    page = render_map(config(tmp_path), placements, [], NOW_DT)
    found = assert_reads_at_a_glance(page, every_label=False)
    by_name = {dot["title"].split(":")[0]: dot for dot in found["dots"]}
    right = found["plot"].right
    assert by_name["Ola Full"]["x"] + layout.DOT_RADIUS < right
    assert by_name["Maximiliane Alexandrina von Hohenzollern"]["x"] + layout.DOT_RADIUS < right
    middle = layout.MID
    divider = by_name["On The Divider"]
    assert divider["x"] - layout.DOT_RADIUS > middle and divider["y"] + layout.DOT_RADIUS < middle
    under = by_name["Just Under"]
    assert under["x"] + layout.DOT_RADIUS < middle and under["y"] - layout.DOT_RADIUS > middle
    crowd = [dot for name, dot in by_name.items() if name.startswith("Crowd")]
    assert len(crowd) == 12 and all(dot["x"] < middle and dot["y"] < middle for dot in crowd)
    assert len(found["labels"]) >= 10  # most of the crowd is labelled; the rest by tooltip and table
    assert "Maximiliane Alexandrina…" in page  # a long label is cut inside the plot, whole in its tooltip


def test_the_demo_map_labels_every_dot_inside_the_plot():
    folder = Path(tempfile.mkdtemp(prefix="tb-map-")) / "demo"
    assert run_cli(None, "demo", "--dir", str(folder)).exit_code == 0
    page = (folder / "map.html").read_text()
    found = assert_reads_at_a_glance(page)
    assert len(found["dots"]) >= 10
    # the reconnect table's contact by month: Lucas Moreau and Tom Becker (the map is written
    # after the demo's run booked Mei Chen and Omar Haddad, who read booked, not to reconnect)
    assert page.count('<svg class="months"') == 2
    assert "<script" not in page


# --- contact by month ---------------------------------------------------------------------

ANN = "ann@acme.example"


def monthly_config(tmp_path: Path) -> Path:
    events = [Ev(f"a{m}", f"2025{m:02d}15T100000", f"2025{m:02d}15T103000", summary="1:1",
                 attendees=(ANN,)) for m in range(4, 13)]  # April to December 2025
    events.append(Ev("a13", "20251016T100000", "20251016T103000", summary="1:1", attendees=(ANN,)))
    ics = tmp_path / "work.ics"
    ics.write_text(calendar(*events))
    return write_config(tmp_path, [ics])


def test_contact_by_month_counts_meetings_logged_contact_and_two_way_email(tmp_path):
    path = monthly_config(tmp_path)
    assert run_cli(path, "sync", now=NOW).exit_code == 0
    assert run_cli(path, "log", ANN, "--when", "2026-01-20", "--kind", "call", now=NOW).exit_code == 0
    store = Store(load_config(path).store_path)
    feb, mar = datetime(2026, 2, 3, 10, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
    mail_contacts.put(store, "mailbox", [
        MailContact("m1", "t1", ANN, "out", feb), MailContact("m2", "t1", ANN, "in", feb),  # two-way
        MailContact("m3", "t2", ANN, "out", mar)])  # one way: not contact
    months = contact_months(load_config(path), store, [ANN], NOW_DT)[ANN]
    assert [f"{m:%Y-%m}" for m in months.months][::11] == ["2025-04", "2026-03"]
    assert months.meetings == [1, 1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 0]
    assert months.logged == [0] * 9 + [1, 0, 0] and months.email == [0] * 10 + [2, 0]
    assert months.sparkline() == "▁▁▁▁▁▁▂▁▁▁▂·"
    page = run_cli(path, "person", ANN, now=NOW).output
    assert "  by month:     ▁▁▁▁▁▁▂▁▁▁▂·  Apr 2025 to Mar 2026: meetings, logged, email" in page
    shown = json.loads(run_cli(path, "person", ANN, "--json", now=NOW).output)["contact_by_month"]
    assert shown["months"][0] == "2025-04" and shown["email"] == months.email


def test_the_morning_email_shows_contact_by_month_as_text(tmp_path):
    path = monthly_config(tmp_path)
    assert run_cli(path, "sync", now=NOW).exit_code == 0
    text = run_cli(path, "digest", "--preview", now=NOW).output
    assert "Who to reconnect with" in text
    assert "contact by month: ▁▁▁▁▁▁▂▁▁··· (Apr 2025 to Mar 2026)" in text
    page = run_cli(path, "digest", "--preview", "--html", now=NOW).output
    assert "contact by month: ▁▁▁▁▁▁▂▁▁··· (Apr 2025 to Mar 2026)" in page
    assert "<svg" not in page and "<script" not in page
    mapped = tmp_path / "map.html"
    assert run_cli(path, "map", "--html", str(mapped), now=NOW).exit_code == 0
    months = re.search(r'<svg class="months"[^>]*aria-label="contact by month, ([^"]*)"', mapped.read_text())
    assert months and months.group(1) == "Apr 2025 to Mar 2026: ▁▁▁▁▁▁▂▁▁···"
