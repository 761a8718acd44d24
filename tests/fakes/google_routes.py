"""URL routing of the Google emulator: (verb, path) -> (method name, path arguments)."""
from __future__ import annotations

import re

from tests.fakes.google_calendar import ApiError

_EVENTS = r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events"
ROUTES = [
    ("POST", r"/token", "oauth.token"),
    ("GET", r"/o/oauth2/auth", "oauth.auth"),
    ("GET", _EVENTS, "events.list"),
    ("POST", _EVENTS, "events.insert"),
    ("GET", _EVENTS + r"/(?P<event_id>[^/]+)/instances", "events.instances"),
    ("GET", _EVENTS + r"/(?P<event_id>[^/]+)", "events.get"),
    ("PATCH", _EVENTS + r"/(?P<event_id>[^/]+)", "events.patch"),
    ("POST", r"/calendar/v3/freeBusy", "freebusy.query"),
    ("POST", r"/gmail/v1/users/(?P<user>[^/]+)/drafts", "drafts.create"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/drafts", "drafts.list"),
    ("POST", r"/gmail/v1/users/(?P<user>[^/]+)/messages/send", "messages.send"),
]
_COMPILED = [(verb, re.compile(f"^{pattern}$"), name) for verb, pattern, name in ROUTES]


def route(verb: str, path: str) -> tuple[str, dict[str, str]]:
    """The method a request calls, and its path arguments (unknown: 404 notFound)."""
    for want, pattern, name in _COMPILED:
        match = pattern.match(path)
        if match and want == verb:
            return name, match.groupdict()
    raise ApiError(404, "notFound", f"No handler for {verb} {path}")
