"""`touchbase init`: write a first config for any source type, interactively or from flags.

It asks for what the flags do not give (your address, where your calendar is), checks each
answer (an address that is one, a file that exists, a calendar address that answers when the
network is there, a Google desktop-client file, an Outlook application id), writes the commented
starter config (mode 0600) and, for an account (Google, Outlook), signs in unless --no-sign-in.
An account source becomes the touchbase write target and, for Google and Outlook, the transport of
drafts and of the morning email; with only a calendar file or address the agent proposes
touchbases ([touchbase] mode = "propose"). It ends by printing the next command.

A calendar address given to init is a secret more often than not (Google's "secret address in
iCal format"), so it is saved in a file beside the config (mode 0600) that the config names with
`url_file`; only its scheme and host are printed.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from agent.cli import main
from agent.cli.app import App
from agent.configuration.loader import Config, parse_config, system_timezone
from agent.configuration.options import (
    CALENDAR_LOGIN_PROBLEM,
    EMAIL,
    HTTP_URL,
    ZONE,
    has_login,
    is_loopback_host,
    url_parts,
)
from agent.configuration.starter import starter_config
from agent.errors import AuthError, SourceError, TouchbaseError, Unreachable, UserError
from agent.safe_text import address_label, looks_like_address
from agent.storage.private_files import private_folder, write_private

pass_app = click.make_pass_decorator(App)

KINDS = {"1": "calendar", "2": "google", "3": "outlook", "4": "caldav"}
CHOICES = ("Where is your work calendar?\n"
           "  1  a calendar address (https:// or webcal://) or an .ics file\n"
           "  2  Google Calendar (signs in with your Google account)\n"
           "  3  Outlook / Microsoft 365 (signs in with your work account)\n"
           "  4  a CalDAV server (Nextcloud, iCloud, Fastmail, Radicale...)")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class Plan:
    """What init will write: the source, the keys it sets, and files to save beside the config."""

    source: dict[str, Any]
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""  # a calendar address to save in the url_file
    notes: list[str] = field(default_factory=list)
    more: list[dict[str, Any]] = field(default_factory=list)  # sources beside it (a mailbox)


@main.command()
@click.option("--email", help="Your work address.")
@click.option("--calendar", "calendar", metavar="PATH_OR_URL",
              help="An .ics file, or a calendar address (https:// or webcal://).")
@click.option("--google", "google", metavar="CLIENT_SECRETS_JSON",
              help="Google Calendar: the OAuth desktop client file from Google Cloud.")
@click.option("--outlook", "outlook", metavar="CLIENT_ID",
              help="Outlook / Microsoft 365: the application (client) id of your app registration.")
@click.option("--tenant", help="Outlook: common, organizations (default), or your tenant id or domain.")
@click.option("--caldav", "caldav", metavar="URL", help="A CalDAV server's address.")
@click.option("--imap", "imap", metavar="HOST[:PORT]",
              help="Also read an IMAP mailbox: two-way mail with colleagues counts as contact "
                   "(who wrote to whom, never a subject or a body; TLS on port 993 by default).")
@click.option("--mail/--no-mail", "mail", default=None,
              help="Google / Outlook: count two-way mail with colleagues as contact (asked when not given).")
@click.option("--username", help="CalDAV or IMAP: your login name.")
@click.option("--password-env", "password_env", metavar="VAR",
              help="CalDAV or IMAP: the environment variable holding your password "
                   "(default TOUCHBASE_CALDAV_PASSWORD / TOUCHBASE_IMAP_PASSWORD).")
@click.option("--timezone", "zone", help="Your IANA time zone (default: the system's).")
@click.option("--no-sign-in", "no_sign_in", is_flag=True, help="Do not sign in now (run `touchbase auth` later).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@pass_app
def init(app: App, email: str | None, calendar: str | None, google: str | None, outlook: str | None,
         tenant: str | None, caldav: str | None, imap: str | None, mail: bool | None,
         username: str | None, password_env: str | None, zone: str | None, no_sign_in: bool,
         force: bool) -> None:
    """Set up touchbase: ask for what is not given, check it, write the config, sign in."""
    target = app.path
    if target.exists() and not force and not _empty_file(target):
        raise UserError(f"{target}: a config already exists (use --force to overwrite); "
                        "with --force the old one is kept as config.toml.bak")
    _clean_flags(email=email, calendar=calendar, google=google, outlook=outlook, tenant=tenant,
                 caldav=caldav, imap=imap, username=username, password_env=password_env, timezone=zone)
    given = [name for name, value in (("--calendar", calendar), ("--google", google), ("--outlook", outlook),
                                      ("--caldav", caldav)) if value]
    if len(given) > 1:
        raise UserError(f"init sets up one calendar source; give only one of {', '.join(given)} "
                        "(add more [[sources]] to the config afterwards)")
    if tenant and not outlook:
        raise UserError("--tenant goes with --outlook")
    if (username or password_env) and not (caldav or imap):
        raise UserError("--username and --password-env go with --caldav or --imap")
    if caldav and imap:
        raise UserError("give --caldav or --imap, not both: --username and --password-env "
                        "would be ambiguous (add the other source to the config afterwards)")
    if imap and not username:
        raise UserError("--imap needs --username (your login name on the mail server)")
    if mail is not None and not (google or outlook):
        raise UserError("--mail goes with --google or --outlook (for other mail: --imap)")
    interactive = not (email and given)  # a question is asked: ask for the zone as well
    try:
        email = _checked_email(email) if email else click.prompt("Your work email address", value_proc=_ask_email)
        _check_zone(zone)
        plan = _plan(target, calendar, google, outlook, tenant, caldav, username, password_env)
        _add_mail(plan, mail if mail is not None or not interactive else _offer_mail(plan), imap,
                  username if imap else None, password_env if imap else None)
        declared = _probe(app, _starter(target, email, zone or system_timezone(), plan), plan)
        zone = _pick_zone(zone, declared, interactive)
    except UnicodeDecodeError:  # an answer typed in another encoding
        raise UserError("an answer is not valid UTF-8 text; nothing was written") from None
    text = _starter_text(email, zone, plan)
    config = parse_config(tomllib.loads(text), target)  # every init form writes a valid config
    _write(target, text, plan)
    click.echo(f"Wrote {target}.")
    for note in plan.notes:
        click.echo(note)
    signed_in = _sign_in(app, config, no_sign_in)
    click.echo(_next_step(config, signed_in))


# --- asking and checking ------------------------------------------------------------------

def _empty_file(path: Path) -> bool:
    """An empty regular file (left by an interrupted write of an older version): init replaces it."""
    return path.is_file() and path.stat().st_size == 0


def _clean(value: str, what: str, asked: bool) -> str:
    """`value` when it is UTF-8 text without control characters; else a one-line refusal (made
    before anything is written)."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raise _fail(f"{what}: not valid UTF-8 text; nothing was written", asked)
    if any(not ch.isprintable() for ch in value):
        raise _fail(f"{what}: holds control characters; nothing was written", asked)
    return value


def _clean_flags(**flags: str | None) -> None:
    """Refuse a flag whose value is not UTF-8 text or holds control characters."""
    for name, value in flags.items():
        if value:
            _clean(value, f"--{name.replace('_', '-')}", asked=False)


def _email_problem(value: str) -> str:
    """Why `value` is no work address ("" when it is one); a domain without a dot is a typo."""
    problem = EMAIL.test(value)
    if not problem and "." not in value.rpartition("@")[2]:
        problem = "is not an email address (the domain has no dot, e.g. you@company.example)"
    return problem


def _checked_email(value: str) -> str:
    value = value.strip()
    problem = _email_problem(value)
    if problem:
        raise UserError(f"--email {value!r} {problem}")
    return value


def _ask_email(value: str) -> str:
    value = _clean(value, "the address", asked=True).strip()
    problem = _email_problem(value)
    if problem:
        raise click.BadParameter(f"{value!r} {problem}")
    return value


def _check_zone(zone: str | None) -> None:
    """Refuse a --timezone that is no IANA zone, before anything is asked or read."""
    problem = ZONE.test(zone) if zone else None
    if problem:
        raise UserError(f"--timezone {zone!r} {problem} (e.g. Europe/Berlin, America/New_York)")


def _pick_zone(zone: str | None, declared: str | None, interactive: bool) -> str:
    """The user's zone: --timezone, else (asked, when init asks questions) the zone the
    calendar declares, else this machine's."""
    if zone:
        click.echo(f"Time zone: {zone}")
        return zone
    machine = system_timezone()
    offered = declared or machine
    if interactive:
        where = "the calendar's" if declared else "this machine's"
        return str(click.prompt(f"Your time zone (Enter for {where})", default=offered,
                                value_proc=_ask_zone))
    where = "declared by the calendar" if declared else "this machine's"
    click.echo(f"Time zone: {offered} ({where}; change [user] timezone or pass --timezone)")
    return offered


def _ask_zone(value: str) -> str:
    _clean(value, "the time zone", asked=True)
    problem = ZONE.test(value.strip())
    if problem:
        raise click.BadParameter(f"{value!r} {problem} (e.g. Europe/Berlin, America/New_York)")
    return value.strip()


def _starter_text(email: str, zone: str, plan: Plan) -> str:
    """The config text init writes."""
    values = {"user": {"timezone": zone}, **plan.values}
    return starter_config(email, timezone=zone, sources=[plan.source, *plan.more], values=values)


def _starter(target: Path, email: str, zone: str, plan: Plan) -> Config:
    """The config init would write with `zone`, parsed (to read the calendar before the zone is chosen)."""
    return parse_config(tomllib.loads(_starter_text(email, zone, plan)), target)


def _plan(target: Path, calendar: str | None, google: str | None, outlook: str | None, tenant: str | None,
          caldav: str | None, username: str | None, password_env: str | None) -> Plan:
    """The source to write, from the flags, or asked for."""
    if calendar:
        return _calendar_plan(target, calendar, asked=False)
    if google:
        return _google_plan(google, asked=False)
    if outlook:
        return _outlook_plan(outlook, tenant or "organizations", asked=False)
    if caldav:
        return _caldav_plan(caldav, username or _ask_plain("CalDAV login name"), password_env)
    kind = KINDS[click.prompt(CHOICES + "\nChoose", type=click.Choice(list(KINDS)), default="1",
                              show_choices=False)]
    if kind == "calendar":
        return click.prompt("The calendar's address or .ics file (Google: Settings > your calendar > "
                            "Secret address in iCal format)", default="~/calendar.ics",
                            value_proc=lambda v: _calendar_plan(target, v, asked=True))
    if kind == "google":
        return click.prompt("Path of the OAuth desktop client file (docs/connect-google.md)",
                            value_proc=lambda v: _google_plan(v, asked=True))
    if kind == "outlook":
        plan = click.prompt("Application (client) id of your app registration (docs/connect-outlook.md)",
                            value_proc=lambda v: _outlook_plan(v, "organizations", asked=True))
        plan.source["tenant"] = _ask_plain("Tenant (common, organizations, or your tenant id or domain)",
                                           default="organizations")
        return plan
    url = click.prompt("The CalDAV server's address", value_proc=lambda v: _checked(HTTP_URL, v, "", True))
    return _caldav_plan(url, _ask_plain("Login name"), password_env)


def _ask_plain(question: str, default: str | None = None) -> str:
    """An answer that is UTF-8 text without control characters (asked again otherwise)."""
    return str(click.prompt(question, default=default, value_proc=lambda v: _clean(v, "the answer", True)))


def _fail(message: str, asked: bool) -> Exception:
    """A bad answer: asked again when interactive, else one line and exit status 2."""
    return click.BadParameter(message) if asked else UserError(message)


def _checked(rule: Any, value: str, flag: str, asked: bool) -> str:
    value = _clean(value, flag or "the address", asked).strip()
    problem = rule.test(value)
    if problem:
        raise _fail(f"{flag + ' ' if flag else ''}{_shown(value)} {problem}", asked)
    return value


def _shown(value: str) -> str:
    """A value as it may be printed: a web address (valid or not) by its scheme and host only."""
    if not looks_like_address(value):
        return repr(value)
    label = address_label(value)
    if not label:
        return "(the address is not shown)"
    return label if value.strip() == label else f"{label}/..."


def _calendar_plan(target: Path, text: str, asked: bool) -> Plan:
    text = _clean(text, "the calendar", asked).strip()
    parts = url_parts(text)
    if has_login(text):
        raise _fail(f"{_shown(text)} {CALENDAR_LOGIN_PROBLEM}", asked)
    if parts is None:
        return _file_plan(text, asked)
    scheme, host = parts
    if scheme not in ("https", "webcal", "webcals", "http"):
        raise _fail(f"{_shown(text)}: a calendar address starts with https:// or webcal://", asked)
    if scheme == "http" and not is_loopback_host(host):
        raise _fail(f"{_shown(text)}: plain http:// is only allowed for this machine; use https://", asked)
    url_file = target.parent / "calendar-url"
    return Plan({"name": "work", "type": "ics", "url_file": str(url_file)},
                {"touchbase": {"mode": "propose"}}, url=text,
                notes=[f"Saved the calendar address ({_shown(text)}) in {url_file} (mode 0600); the "
                       "config names that file, so it can be shared without the address."])


def _file_plan(text: str, asked: bool) -> Plan:
    """An .ics file; a value meant as an address (no scheme, a space inside, a bad port) is
    refused as one, never looked for as a file, and never printed beyond its host."""
    path = Path(text).expanduser()
    if not path.is_file() and looks_like_address(text):
        raise _fail(f"{_shown(text)} is not a valid calendar address (it needs https:// or webcal://, "
                    "a port that is a number, and no spaces)", asked)
    if not path.is_file():
        raise _fail(f"{path}: no such file (give an .ics file or a calendar address)", asked)
    written = text if text.startswith("~") else str(path.resolve())  # ~ stays: the config may move
    return Plan({"name": "work", "type": "ics", "path": written}, {"touchbase": {"mode": "propose"}})


def _google_plan(text: str, asked: bool) -> Plan:
    path = Path(_clean(text, "the client file", asked).strip()).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(f"{path}: no such file (download the OAuth client of type Desktop app from "
                    "Google Cloud; see docs/connect-google.md)", asked) from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise _fail(f"{path}: not a client secrets JSON file from Google Cloud", asked) from None
    if not isinstance(data, dict) or "installed" not in data:
        kind = "a web application client" if isinstance(data, dict) and "web" in data else "not a desktop client"
        raise _fail(f"{path}: {kind}; create an OAuth client of type Desktop app "
                    "(docs/connect-google.md)", asked)
    name = "google"
    return Plan({"name": name, "type": "google", "client_secrets": str(path.resolve())}, _account_roles(name))


def _outlook_plan(client_id: str, tenant: str, asked: bool) -> Plan:
    client_id = _clean(client_id, "the application id", asked).strip()
    if not _GUID.match(client_id):
        raise _fail(f"{client_id!r} is not an application (client) id; it looks like "
                    "00000000-0000-0000-0000-000000000000 (Entra admin center > App registrations > "
                    "Overview)", asked)
    name = "outlook"
    return Plan({"name": name, "type": "outlook", "client_id": client_id, "tenant": tenant},
                _account_roles(name))


def _caldav_plan(url: str, username: str, password_env: str | None) -> Plan:
    url = _checked(HTTP_URL, url, "--caldav", asked=False)
    variable = password_env or "TOUCHBASE_CALDAV_PASSWORD"
    notes = [] if os.environ.get(variable) else [
        f"Set {variable} to your CalDAV password (an app password where the server offers one) "
        "wherever touchbase runs; it is never stored in the config."]
    name = "caldav"
    return Plan({"name": name, "type": "caldav", "url": url, "username": username.strip(),
                 "password_env": variable},
                {"touchbase": {"write_to": name, "mode": "auto"}}, notes=notes)


def _add_mail(plan: Plan, mail: bool | None, imap: str | None, username: str | None,
              password_env: str | None) -> None:
    """Mail as contact: `mail = true` on a Google or Outlook source, and an IMAP mailbox beside
    the calendar source with --imap."""
    if mail and plan.source["type"] in ("google", "outlook"):
        plan.source["mail"] = True
    if imap:
        plan.more.append(_imap_source(imap, username or "", password_env, plan.notes))


def _offer_mail(plan: Plan) -> bool | None:
    """Asked in an interactive init with a Google or Outlook account: read its mail too?"""
    if plan.source["type"] not in ("google", "outlook"):
        return None
    return click.confirm("Count two-way mail with colleagues as contact? (reads who wrote to whom "
                         "and when, never a subject or a body)", default=True)


def _imap_source(text: str, username: str, password_env: str | None, notes: list[str]) -> dict[str, Any]:
    """The [[sources]] entry of an IMAP mailbox at HOST[:PORT] (TLS; port 993 by default)."""
    text = text.strip()
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host or not re.fullmatch(r"[A-Za-z0-9.-]+", host) or (port and not port.isdigit()):
        raise UserError(f"--imap {text!r}: give the mail server's host name, e.g. "
                        "mail.company.example (or mail.company.example:993)")
    variable = password_env or "TOUCHBASE_IMAP_PASSWORD"
    if not os.environ.get(variable):
        notes.append(f"Set {variable} to your mail password (an app password where the server "
                     "offers one) wherever touchbase runs; it is never stored in the config.")
    entry: dict[str, Any] = {"name": "mailbox", "type": "imap", "host": host,
                             "username": username.strip(), "password_env": variable, "tls": "ssl"}
    if port:
        entry["port"] = int(port)
    return entry


def _account_roles(name: str) -> dict[str, dict[str, Any]]:
    """A Google or Outlook account takes the touchbases, the drafts and the morning email."""
    return {"touchbase": {"write_to": name, "mode": "auto"}, "followups": {"transport": name},
            "digest": {"transport": name}}


# --- checking the source, writing, signing in ----------------------------------------------

def _probe(app: App, config: Config, plan: Plan) -> str | None:
    """Read a calendar file or address once: a wrong one stops init, an unreachable one warns.
    Returns the zone the calendar declares, if any."""
    from agent.sources import make_context
    from connectors import connector_class

    source = config.sources[0]
    probe = getattr(connector_class(source.type), "probe", None)
    if probe is None:
        return None
    options = dict(source.options)
    if plan.url:  # the url_file is written only once everything checked out
        options.pop("url_file", None)
        options["url"] = plan.url
    checked = type(source)(name=source.name, type=source.type, options=options)
    try:
        found = probe(checked, make_context(config, _now(app, config)))
    except Unreachable as exc:
        click.echo(f"Could not reach the calendar now ({str(exc).removeprefix(source.name + ': ')}); "
                   "it is read on the first sync.", err=True)
        return None
    except SourceError as exc:
        raise UserError(f"calendar: {str(exc).removeprefix(source.name + ': ')}") from None
    click.echo(f"Calendar found: {found.found}")
    return found.declared_zone


def _write(target: Path, text: str, plan: Plan) -> None:
    """The config (and the calendar address file) with mode 0600 in a 0700 folder, each written
    whole or not at all; a file already there is kept beside it as NAME.bak (0600)."""
    private_folder(target.parent)
    if plan.url:
        _replace_private(Path(plan.source["url_file"]), plan.url + "\n", "calendar address file")
    _replace_private(target, text, "config")


def _replace_private(path: Path, text: str, what: str) -> None:
    """Write `text` to a temporary file beside `path`, fsync, rename it over `path`; the old
    content (when there was some) is first copied to PATH.bak the same way."""
    if path.is_file() and path.stat().st_size:
        write_private(path.with_name(path.name + ".bak"), path.read_bytes(), what=f"backup of the {what}")
    write_private(path, text, what=what)


def _sign_in(app: App, config: Config, skip: bool) -> bool | None:
    """Sign in to an account source now; None when there is nothing to sign in to."""
    from agent.cli.accounts import source_roles
    from agent.sources import make_context
    from connectors import connector_class

    source = config.sources[0]
    if source.type not in ("google", "outlook"):
        return None
    if skip:
        return False
    click.echo(f"Signing in to {source.type.capitalize()}...")
    try:
        message = connector_class(source.type).authorize(
            source, make_context(config, _now(app, config)), roles=source_roles(config, source.name))
    except AuthError:
        raise  # its line names the command that signs in again
    except (SourceError, UserError) as exc:
        raise TouchbaseError(f"{exc}; the config is written, sign in with: touchbase auth "
                             f"{source.type}") from None
    click.echo(message)
    return True


def _now(app: App, config: Config) -> datetime:
    """The instant to evaluate at (--now, else the clock) in the new config's zone."""
    return (app.fixed_now or datetime.now(UTC)).astimezone(config.zone)


def _next_step(config: Config, signed_in: bool | None) -> str:
    source = config.sources[0]
    if signed_in is False:
        return (f"Next: touchbase auth {source.type} (sign in), then touchbase run --once "
                "(reads your calendar and writes the morning email)")
    if source.type == "caldav":
        variable = source.options.get("password_env") or "TOUCHBASE_CALDAV_PASSWORD"
        return f"Next: export {variable}=... then touchbase run --once (reads your calendar)"
    return "Next: touchbase run --once (reads your calendar and writes the morning email)"
