"""The declarative config schema: every key DESIGN.md lists is declared once with a type, a default,
bounds or a format and a help line; the example config, the starter config and the reference page are
generated from it and the shipped copies are current."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.configuration.loader import load_config, parse_config
from agent.configuration.options import Option, options_of
from agent.configuration.schema import SECTIONS, SOURCE_COMMON, source_types
from agent.configuration.starter import (
    GENERATED,
    example_text,
    packaged_example,
    reference_text,
    render_config,
    stale_files,
    starter_config,
    toml_string,
)
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

# The keys DESIGN.md's Config section lists (plus the daemon's), section by section.
DESIGN_KEYS = {
    "user": {"email", "aliases", "timezone"},
    "colleagues": {"internal_domains", "max_attendees", "window_days", "exclude", "aliases"},
    "store": {"path"},
    "touchbase": {"mode", "cadence_days", "duration_minutes", "max_active", "max_new_per_day",
                  "decline_limit", "heal_days", "max_per_day", "working_hours", "working_days", "write_to"},
    "followups": {"enabled", "max_attendees", "lookback_hours", "min_days_between", "transport"},
    "outbox": {"path"},
    "digest": {"time", "days", "to", "transport"},
    "smtp": {"host", "port", "security", "username", "password_env", "password_file"},
    "daemon": {"sync_minutes", "planner_time"},
}
DESIGN_SOURCE_KEYS = {
    "ics": {"path", "url", "url_env", "url_file", "max_bytes"},
    "caldav": {"url", "username", "password_env", "password_file", "calendars"},
    "google": {"calendars", "client_secrets", "token_file", "api_endpoint", "send_updates"},
    "outlook": {"client_id", "tenant", "authority", "graph_endpoint", "token_cache"},
}


def all_options() -> list[tuple[str, Option]]:
    found = [(name, option) for name, cls in SECTIONS.items() for option in options_of(cls)]
    found += [("sources", option) for option in SOURCE_COMMON]
    found += [(f"sources.{t}", option) for t, kind in source_types().items() for option in kind.config_options]
    return found


def test_every_key_design_lists_is_declared():
    for section, keys in DESIGN_KEYS.items():
        assert keys <= {o.key for o in options_of(SECTIONS[section])}, section
    for type_name, keys in DESIGN_SOURCE_KEYS.items():
        assert keys <= {o.key for o in source_types()[type_name].config_options}, type_name


def test_every_option_has_help_and_numbers_have_bounds():
    for where, option in all_options():
        assert option.help and "\n" not in option.help, (where, option.key)
        if option.kind == "int":
            assert option.minimum is not None and option.maximum is not None, (where, option.key)
            assert option.minimum <= option.default <= option.maximum, (where, option.key)


def test_every_default_and_example_value_passes_its_own_checks():
    from agent.configuration.loader import check_value

    for where, option in all_options():
        for value in (option.default, option.shown):
            if value == "" and option.required:
                continue
            assert check_value(option, value) == [], (where, option.key, value)


def test_the_shipped_example_and_reference_are_what_the_schema_generates():
    stale = stale_files(ROOT)
    assert not stale, (f"{', '.join(str(p.relative_to(ROOT)) for p in stale)} differ from the schema; "
                       "regenerate with `python -m agent.configuration.schema`")
    assert set(GENERATED) == {"config/touchbase.example.toml", "agent/data/example.toml",
                              "docs/config-reference.md"}
    assert packaged_example() == example_text()


def test_a_changed_schema_makes_the_check_fail(tmp_path):
    for relative in GENERATED:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("# edited by hand\n", encoding="utf-8")
    assert len(stale_files(tmp_path)) == 3


def test_the_example_shows_every_key_with_its_help_and_loads():
    text = example_text()
    for where, option in all_options():
        if where.startswith("sources"):
            assert f"{option.key} = " in text, (where, option.key)
        assert f"# {option.help}" in text, (where, option.key)
    config = parse_config(tomllib.loads(text))
    assert config.user.email == "me@acme.example"
    assert [(s.name, s.type, s.path) for s in config.sources] == [("work", "ics", "~/calendar.ics")]


def test_each_commented_source_template_loads_when_uncommented():
    sources = next(b for b in example_text().split("\n\n") if b.startswith("# Calendars"))
    blocks = sources.split("\n#\n")[1:]
    assert len(blocks) == 4
    for block, type_name in zip(blocks, ("caldav", "google", "outlook", "imap"), strict=True):
        uncommented = "\n".join(line[2:] for line in block.splitlines())
        config = parse_config(tomllib.loads(uncommented))
        assert [s.type for s in config.sources] == [type_name]


def test_the_reference_page_names_every_key_with_default_and_bounds():
    text = reference_text()
    for section in SECTIONS:
        assert f"## [{section}]" in text
    for type_name in source_types():
        assert f'### type = "{type_name}"' in text
    for where, option in all_options():
        assert f"| `{option.key}` |" in text, (where, option.key)
    assert "| `max_active` | integer | `5` | 0 to 100 |" in text
    assert "| `mode` | string | `\"auto\"` | `auto`, `propose`, `off` |" in text


def test_starter_config_fills_in_the_user_and_keeps_the_comments(tmp_path):
    text = starter_config("Ana@Example.org", '~/my "work".ics', "America/Chicago")
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert (config.user.email, config.user.timezone, config.digest.to) == (
        "Ana@Example.org", "America/Chicago", "Ana@Example.org")
    assert config.colleagues.internal_domains == ["Example.org"]
    assert config.sources[0].path == '~/my "work".ics'
    assert text.count("# ") > 60


def test_starter_config_takes_any_sources_and_values(tmp_path):
    text = starter_config("me@acme.example", timezone="UTC", sources=[
        {"name": "work", "type": "ics", "url": "https://calendar.acme.example/me.ics"},
        {"name": "google", "type": "google", "client_secrets": "~/secret.json"},
    ], values={"touchbase": {"write_to": "google"}, "digest": {"transport": "google"}})
    config = parse_config(tomllib.loads(text))
    assert [(s.name, s.type) for s in config.sources] == [("work", "ics"), ("google", "google")]
    assert config.sources[0].url == "https://calendar.acme.example/me.ics"
    assert config.touchbase.write_to == "google" and config.digest.transport == "google"
    assert "# type = \"outlook\"" in text and "# type = \"google\"" not in text


def test_a_starter_with_a_bad_value_does_not_load():
    text = starter_config("not-an-address", "c.ics", "UTC")
    with pytest.raises(ConfigError, match=r"\[user\] email 'not-an-address' is not an email address"):
        parse_config(tomllib.loads(text))


@pytest.mark.parametrize("text", ["", "plain", 'quo"te', "back\\slash", "tab\tnew\nline", "\x7f\x01", "ünï"])
def test_toml_strings_round_trip(text):
    assert tomllib.loads(f"k = {toml_string(text)}")["k"] == text


def test_render_config_with_no_sources_still_loads():
    config = parse_config(tomllib.loads(render_config(sources=())))
    assert config.sources == []


def test_the_starter_leaves_mode_unset_so_an_ics_only_setup_proposes():
    ics_only = parse_config(tomllib.loads(starter_config("me@acme.example", "c.ics", "UTC")))
    assert "touchbase.mode" not in ics_only.given
    assert ics_only.touchbase.mode == "propose"
    with_caldav = parse_config(tomllib.loads(starter_config("me@acme.example", timezone="UTC", sources=[
        {"name": "dav", "type": "caldav", "url": "https://dav.acme.example/"}])))
    assert with_caldav.touchbase.mode == "auto"


def test_each_connector_class_states_its_facts_and_the_registry_and_schema_read_them():
    from connectors import KNOWN_TYPES, REGISTRY, connector_class
    from connectors.base import Connector

    assert KNOWN_TYPES == tuple(REGISTRY) == tuple(source_types())
    assert SOURCE_COMMON[1].key == "type" and SOURCE_COMMON[1].choices == KNOWN_TYPES
    reference = reference_text()
    for name, cls in {**source_types(), "local": connector_class("local")}.items():
        assert cls.type_name == name, f"{REGISTRY.get(name)} declares type {cls.type_name!r}"
        writes = cls.create_series is not Connector.create_series
        assert cls.read_only is not writes, f"{name}: read_only and create_series disagree"
    for name, cls in source_types().items():
        assert cls.help and cls.config_options, name
        writes = "read-only: touchbases go to the local calendar file" if cls.read_only else "can take touchbases"
        assert f'### type = "{name}"\n\n{cls.help}; {writes}.' in reference


def test_whether_a_source_takes_touchbases_is_its_class_read_only():
    for name, cls in source_types().items():
        entry = {"name": "s", "type": name, **({"path": "c.ics"} if name == "ics" else {})}
        config = parse_config({"sources": [entry]})
        assert config.touchbase.mode == ("propose" if cls.read_only else "auto"), name


def test_a_source_takes_the_keys_its_class_declares_and_no_other():
    for name, cls in source_types().items():
        entry = {"name": "s", "type": name, **({"path": "c.ics"} if name == "ics" else {})}
        entry.update({o.key: o.shown for o in cls.config_options if o.key not in ("paths", "url", "urls",
                                                                                 "url_env", "url_file")})
        (source,) = parse_config({"sources": [entry]}).sources
        assert set(source.options) == {o.key for o in cls.config_options}, name
        with pytest.raises(ConfigError) as caught:
            parse_config({"sources": [{**entry, "colour": "red"}]})
        assert caught.value.problems == ["config: [[sources]] 's' unknown key 'colour'"], name
