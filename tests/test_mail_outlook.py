"""The Outlook mail reader against the Graph emulator: messages/delta per folder with $select
and no body, deltaLinks (one request per folder when nothing changed), 410, conversations."""
from __future__ import annotations

from datetime import timedelta

import pytest

from agent.configuration.loader import load_config
from connectors.outlook.connector import OutlookConnector
from tests.fakes.graph_fixtures import outlook_config, sign_in
from tests.mail_signal_helpers import ME, NOW, Collected, mail_context


@pytest.fixture
def office(tmp_path, graph):
    config = outlook_config(tmp_path, graph, extra="mail = true\n")  # a key of the office source
    output = sign_in(config)
    assert "Mail.ReadBasic" in output and "Mail.Send" not in output
    return config


def read(config, tmp_path, state=None):
    source = load_config(config).source("office")
    assert source.options["mail"] is True
    connector = OutlookConnector(source, mail_context(tmp_path / "data"))
    sink = Collected()
    try:
        return sink, connector.fetch_mail(state or {}, sink)
    finally:
        connector.close()


def test_first_read_pages_both_folders_without_bodies(office, graph, tmp_path):
    graph.mail.default_page_size = 2
    for day in range(5):
        graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW - timedelta(days=day + 1),
                           subject="ZEBRA", body="OCTOPUS", conversation="c1")
    graph.mail.deliver("sentitems", ME, ["x@acme.example"], when=NOW - timedelta(days=1),
                       subject="ZEBRA", body="OCTOPUS", conversation="c1")
    sink, state = read(office, tmp_path)
    assert len(sink.by_key()) == 6 and {m.thread for m in sink} == {"graph:c1"}
    assert set(state["folders"]) == {"inbox", "sentitems"}
    deltas = graph.graph_requests("/messages/delta")
    first = [r for r in deltas if "$select" in r.query]
    assert len(first) == 2 and all("body" not in r.query["$select"].lower() for r in first)
    assert all("receivedDateTime ge" in r.query["$filter"] for r in first)


def test_no_change_is_one_delta_request_per_folder(office, graph, tmp_path):
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW - timedelta(days=1), conversation="c")
    graph.mail.deliver("sentitems", ME, ["x@acme.example"], when=NOW, conversation="c")
    _, state = read(office, tmp_path)
    graph.reset_log()
    sink, again = read(office, tmp_path, state)
    assert list(sink) == []
    assert [r.path for r in graph.graph_requests()] == [
        "/v1.0/me/mailFolders/inbox/messages/delta", "/v1.0/me/mailFolders/sentitems/messages/delta"]


def test_a_one_way_conversation_is_looked_up_whole(office, graph, tmp_path):
    old = graph.mail.deliver("sentitems", ME, ["x@acme.example"], when=NOW - timedelta(days=400),
                             conversation="long")
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW - timedelta(days=2),
                       conversation="long")
    sink, _ = read(office, tmp_path)
    assert old["internetMessageId"].strip("<>") in sink.by_key()
    assert len(graph.graph_requests("GET /v1.0/me/messages")) == 1


def test_an_expired_delta_token_reads_that_folder_again(office, graph, tmp_path):
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW - timedelta(days=1), conversation="c")
    graph.mail.deliver("sentitems", ME, ["x@acme.example"], when=NOW, conversation="c")
    _, state = read(office, tmp_path)
    graph.mail.expire_tokens()
    sink, again = read(office, tmp_path, state)
    assert len(sink.by_key()) == 2
    assert again["folders"]["inbox"] != state["folders"]["inbox"]
    assert [r.status for r in graph.graph_requests("/messages/delta")][-4:].count(410) == 2


def test_list_headers_mark_bulk(office, graph, tmp_path):
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW, message_id="l@acme.example",
                       headers={"List-Unsubscribe": "<mailto:u@acme.example>"})
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW, message_id="p@acme.example",
                       headers={"Auto-Submitted": "no"})
    found = read(office, tmp_path)[0].by_key()
    assert found["l@acme.example"].bulk and not found["p@acme.example"].bulk


def test_a_draft_in_a_conversation_is_not_mail_that_went_out(office, graph, tmp_path):
    graph.mail.deliver("inbox", "x@acme.example", [ME], when=NOW - timedelta(days=2),
                       conversation="d", message_id="in@acme.example")
    draft = graph.mail.deliver("drafts", ME, ["x@acme.example"], when=NOW - timedelta(days=1),
                               conversation="d", message_id="draft@acme.example")
    draft["isDraft"] = True
    found = read(office, tmp_path)[0].by_key()
    assert "in@acme.example" in found and "draft@acme.example" not in found
    assert len(graph.graph_requests("GET /v1.0/me/messages")) == 1  # looked up, draft left out
