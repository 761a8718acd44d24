"""The per-colleague view the CLI and the other parts read: stats from the store."""
from __future__ import annotations

from datetime import datetime, timedelta

from agent.configuration.loader import Config
from agent.figures_memo import stored_stats
from agent.inference import ColleagueStats
from agent.interactions import Interaction, all_interactions
from agent.mail_signal import MailFigures, mail_figures
from agent.own_bookings import next_booked
from agent.storage.store import Store


def colleague_stats(config: Config, store: Store, now: datetime) -> dict[str, ColleagueStats]:
    """Per colleague figures as of `now`, from the stored occurrences (computed once per change
    of the store: agent.figures_memo); `next_meeting` also
    counts the touchbases the agent booked (agent.own_bookings), synced yet or not."""
    stats = stored_stats(config, store, now)
    for email, moment in next_booked(config, store, now).items():
        entry = stats.setdefault(email, ColleagueStats(email=email))
        if entry.next_meeting is None or moment < entry.next_meeting:
            entry.next_meeting = moment
    return stats


def people_rows(config: Config, store: Store, now: datetime,
                stats: dict[str, ColleagueStats] | None = None) -> list[dict]:
    """The `people --json` list: most meetings first, then by address (`stats`: already
    computed `colleague_stats`, to read the store once).

    Each row also carries `last_contact` (the latest held meeting, logged interaction or two-way
    email), `interactions` (those logged within the window, newest first), `email_threads` and
    `last_emailed` (agent.mail_signal); a colleague known only from logged interactions or from
    mail has a row with no meetings.
    """
    zone = config.zone
    stats = colleague_stats(config, store, now) if stats is None else stats
    logged = _logged_by_email(store, now)
    mail = mail_figures(config, store, now)
    window_start = now - timedelta(days=config.colleagues.window_days)
    rows = []
    for email in sorted(set(stats) | set(logged) | set(mail)):
        entry = stats.get(email) or ColleagueStats(email=email)
        items = logged.get(email, [])
        emailed = mail.get(email) or MailFigures()
        if not entry.meetings and entry.next_meeting is None and not items and not emailed.email_threads:
            continue
        row = entry.as_dict()
        for key in ("last_met", "next_meeting"):
            value = getattr(entry, key)
            row[key] = value.astimezone(zone).isoformat() if value else None
        row["email_threads"] = emailed.email_threads
        row["last_emailed"] = emailed.last_emailed.astimezone(zone).isoformat() if emailed.last_emailed else None
        contacts = [m for m in (entry.last_seen, items[0].at if items else None, emailed.last_emailed)
                    if m is not None]
        row["last_contact"] = max(contacts).astimezone(zone).isoformat() if contacts else None
        row["interactions"] = [i.as_dict(zone) for i in items if i.at >= window_start]
        rows.append(row)
    rows.sort(key=lambda r: (-r["meetings"], r["email"]))
    return rows


def _logged_by_email(store: Store, now: datetime) -> dict[str, list[Interaction]]:
    """Logged interactions up to `now` per colleague, newest first."""
    result: dict[str, list[Interaction]] = {}
    for item in reversed(all_interactions(store, until=now)):
        result.setdefault(item.email, []).append(item)
    return result
