"""Whose hours a touchbase must fit: the user's always, and the colleague's where known.

The colleague's hours come from the backend where it tells them (Graph getSchedule
`workingHours`); otherwise, when the events they organise are written in another zone than the
user's, the user's working days and hours are assumed for them in that zone (someone in New York
who organises their meetings in America/New_York is taken to work 09:00-17:00 there).
"""
from __future__ import annotations

from agent.configuration.loader import Config
from agent.model import WorkingHours
from agent.planning.slots import working_hours
from agent.storage.store import Store
from connectors.base import Connector


def colleague_hours(config: Config, store: Store, connector: Connector, email: str) -> WorkingHours | None:
    """The colleague's working hours: the backend's, else inferred from their zone, else None."""
    hours = connector.working_hours(email)
    if hours is not None:
        return hours
    zone = store.organiser_zone(email)
    if not zone or zone == config.zone.key:
        return None
    opens, closes = working_hours(config)
    return WorkingHours(tuple(config.touchbase.working_days), opens, closes, zone)
