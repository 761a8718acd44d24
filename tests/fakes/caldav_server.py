"""A small, permissive CalDAV server: it stores a client's bytes unchecked, as many servers do.

Radicale (the real server the other CalDAV tests use) refuses a broken VTIMEZONE, an unreadable
DTEND or a METHOD on upload; servers that store what a client sends keep them, and the agent must
read them. This emulator speaks the part of RFC 4791 / RFC 6578 the caldav library uses to read:
PROPFIND (current-user-principal, calendar-home-set, the calendars with their display names),
REPORT sync-collection (tokens; a token it does not know is a 403 valid-sync-token), REPORT
calendar-multiget and calendar-query (every VEVENT object: no filtering, the client reads), and
GET. Basic auth with one user. Objects are put straight in with `put` and `remove`.
"""
from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree as ET

from tests.fakes.quiet_http import QuietHTTPServer

DAV, CALDAV, CS = "DAV:", "urn:ietf:params:xml:ns:caldav", "http://calendarserver.org/ns/"
USER, PASSWORD = "me", "secret"
ROOT = "/dav/"
PRINCIPAL = "/dav/principals/me/"
HOME = "/dav/calendars/me/"
TOKEN = "http://touchbase.test/ns/sync/"

ET.register_namespace("D", DAV)
ET.register_namespace("C", CALDAV)
ET.register_namespace("CS", CS)


@dataclass
class Collection:
    """One calendar: objects by name, and the version at which each changed or went."""

    name: str
    objects: dict[str, bytes] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)  # object name -> version (gone too)


@dataclass
class CalDavServer:
    """Calendars under HOME by path segment; `version` counts every change (the sync token)."""

    calendars: dict[str, Collection] = field(default_factory=dict)
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: QuietHTTPServer | None = None

    @property
    def url(self) -> str:
        """The address a caldav source is configured with."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{ROOT}"

    def calendar(self, segment: str, name: str | None = None) -> Collection:
        """The calendar at HOME/`segment`/ (made, shown as `name`, when it does not exist)."""
        with self.lock:
            return self.calendars.setdefault(segment, Collection(name or segment))

    def put(self, segment: str, object_name: str, data: bytes | str) -> None:
        """Store `data` as it is under HOME/segment/object_name."""
        body = data.encode("utf-8") if isinstance(data, str) else data
        collection = self.calendar(segment)
        with self.lock:
            self.version += 1
            collection.objects[object_name] = body
            collection.changed[object_name] = self.version

    def remove(self, segment: str, object_name: str) -> None:
        """Delete one object."""
        collection = self.calendar(segment)
        with self.lock:
            self.version += 1
            collection.objects.pop(object_name, None)
            collection.changed[object_name] = self.version

    def start(self) -> CalDavServer:
        """Listen on a free loopback port in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PROPFIND(self) -> None:  # noqa: N802 - the http.server hook name
                owner.answer(self)

            def do_REPORT(self) -> None:  # noqa: N802
                owner.answer(self)

            def do_GET(self) -> None:  # noqa: N802
                owner.answer(self)

            def do_OPTIONS(self) -> None:  # noqa: N802
                owner.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- answering ---------------------------------------------------------------------------

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = unquote(urlparse(handler.path).path)
        with self.lock:
            self.requests.append((handler.command, path))
        if not self._authorised(handler):
            return _send(handler, 401, b"", {"WWW-Authenticate": 'Basic realm="touchbase test"'})
        if handler.command == "OPTIONS":
            return _send(handler, 200, b"", {"DAV": "1, 2, 3, calendar-access"})
        if handler.command == "GET":
            return self._get(handler, path)
        request = ET.fromstring(body) if body.strip() else None
        if handler.command == "PROPFIND":
            depth = handler.headers.get("Depth", "0")
            return _multistatus(handler, self._propfind(path, depth))
        return self._report(handler, path, request)

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return handler.headers.get("Authorization") == expected

    def _get(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        found = self._object(path)
        if found is None:
            return _send(handler, 404, b"not found")
        collection, name = found
        return _send(handler, 200, collection.objects[name],
                     {"Content-Type": "text/calendar; charset=utf-8",
                      "ETag": _etag(collection, name)})

    def _object(self, path: str) -> tuple[Collection, str] | None:
        segment, _, name = path.removeprefix(HOME).partition("/")
        collection = self.calendars.get(segment)
        if collection is None or name not in collection.objects:
            return None
        return collection, name

    def _propfind(self, path: str, depth: str) -> list[ET.Element]:
        if path in (ROOT, "/", PRINCIPAL):
            return [_response(path, _principal_props())]
        if path == HOME:
            found = [_response(HOME, [_resourcetype(collection=True)])]
            if depth != "0":
                found += [self._calendar_response(s) for s in sorted(self.calendars)]
            return found
        segment = path.removeprefix(HOME).strip("/")
        if segment in self.calendars:
            found = [self._calendar_response(segment)]
            if depth != "0":
                collection = self.calendars[segment]
                found += [_response(self._href(segment, n), [_prop(DAV, "getetag", _etag(collection, n))])
                          for n in sorted(collection.objects)]
            return found
        return [_missing(path)]

    def _calendar_response(self, segment: str) -> ET.Element:
        collection = self.calendars[segment]
        components = ET.Element(f"{{{CALDAV}}}supported-calendar-component-set")
        ET.SubElement(components, f"{{{CALDAV}}}comp", name="VEVENT")
        return _response(f"{HOME}{segment}/", [
            _resourcetype(collection=True, calendar=True), _prop(DAV, "displayname", collection.name),
            components, _prop(DAV, "sync-token", f"{TOKEN}{self.version}"),
            _prop(CS, "getctag", str(self.version))])

    def _report(self, handler: BaseHTTPRequestHandler, path: str, request: ET.Element | None) -> None:
        segment = path.removeprefix(HOME).strip("/")
        collection = self.calendars.get(segment)
        if collection is None or request is None:
            return _send(handler, 404, b"not found")
        kind = request.tag.rpartition("}")[2]
        if kind == "sync-collection":
            return self._sync(handler, collection, segment, request)
        if kind == "calendar-multiget":
            hrefs = [unquote(e.text or "") for e in request.iter(f"{{{DAV}}}href")]
            names = [h.rpartition("/")[2] for h in hrefs]
        else:  # calendar-query: everything, the client reads
            names = sorted(collection.objects)
        return _multistatus(handler, [self._with_data(collection, segment, n) for n in names])

    def _sync(self, handler: BaseHTTPRequestHandler, collection: Collection, segment: str,
              request: ET.Element) -> None:
        token = (request.findtext(f"{{{DAV}}}sync-token") or "").strip()
        since = 0
        if token:
            if not token.startswith(TOKEN) or not token[len(TOKEN):].isdigit() \
                    or int(token[len(TOKEN):]) > self.version:
                error = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'
                return _send(handler, 403, error, {"Content-Type": "application/xml"})
            since = int(token[len(TOKEN):])
        names = sorted(n for n, v in collection.changed.items() if v > since)
        found = [_response(self._href(segment, n), [_prop(DAV, "getetag", _etag(collection, n))])
                 if n in collection.objects else _missing(self._href(segment, n)) for n in names]
        return _multistatus(handler, found, sync_token=f"{TOKEN}{self.version}")

    def _with_data(self, collection: Collection, segment: str, name: str) -> ET.Element:
        if name not in collection.objects:
            return _missing(self._href(segment, name))
        data = collection.objects[name].decode("utf-8", "replace")
        return _response(self._href(segment, name), [_prop(DAV, "getetag", _etag(collection, name)),
                                                     _prop(CALDAV, "calendar-data", data)])

    @staticmethod
    def _href(segment: str, name: str) -> str:
        return f"{HOME}{segment}/{name}"


def _principal_props() -> list[ET.Element]:
    user = ET.Element(f"{{{DAV}}}current-user-principal")
    ET.SubElement(user, f"{{{DAV}}}href").text = PRINCIPAL
    home = ET.Element(f"{{{CALDAV}}}calendar-home-set")
    ET.SubElement(home, f"{{{DAV}}}href").text = HOME
    return [user, home, _resourcetype(collection=True), _prop(DAV, "displayname", USER)]


def _prop(namespace: str, name: str, text: str) -> ET.Element:
    element = ET.Element(f"{{{namespace}}}{name}")
    element.text = text
    return element


def _resourcetype(collection: bool = False, calendar: bool = False) -> ET.Element:
    element = ET.Element(f"{{{DAV}}}resourcetype")
    if collection:
        ET.SubElement(element, f"{{{DAV}}}collection")
    if calendar:
        ET.SubElement(element, f"{{{CALDAV}}}calendar")
    return element


def _response(href: str, props: list[ET.Element]) -> ET.Element:
    response = ET.Element(f"{{{DAV}}}response")
    ET.SubElement(response, f"{{{DAV}}}href").text = href
    propstat = ET.SubElement(response, f"{{{DAV}}}propstat")
    prop = ET.SubElement(propstat, f"{{{DAV}}}prop")
    prop.extend(props)
    ET.SubElement(propstat, f"{{{DAV}}}status").text = "HTTP/1.1 200 OK"
    return response


def _missing(href: str) -> ET.Element:
    response = ET.Element(f"{{{DAV}}}response")
    ET.SubElement(response, f"{{{DAV}}}href").text = href
    ET.SubElement(response, f"{{{DAV}}}status").text = "HTTP/1.1 404 Not Found"
    return response


def _etag(collection: Collection, name: str) -> str:
    return f'"{collection.changed.get(name, 0)}"'


def _multistatus(handler: BaseHTTPRequestHandler, responses: list[ET.Element],
                 sync_token: str | None = None) -> None:
    root = ET.Element(f"{{{DAV}}}multistatus")
    root.extend(responses)
    if sync_token is not None:
        ET.SubElement(root, f"{{{DAV}}}sync-token").text = sync_token
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    _send(handler, 207, body, {"Content-Type": "application/xml; charset=utf-8"})


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
