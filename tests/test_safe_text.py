"""Text from outside made safe: control characters out of what is printed or put in a header,
credentials out of a server's reply."""
from __future__ import annotations

from agent.safe_text import one_line, printable, server_reply, without_secrets


def test_printable_removes_c0_c1_and_bidi_controls():
    assert printable("a\x1b[2Jb\x07c\x9bd\u202ee\u2066f") == "a[2Jbcdef"
    assert printable("two\nlines\r\nhere\ttab") == "two lines  here tab"
    assert printable("two\nlines\x1b", keep_newlines=True) == "two\nlines"
    assert one_line("  spaced \n out\u2028 ") == "spaced out"
    assert printable("Zoë Ünïcode — fine") == "Zoë Ünïcode — fine"


def test_a_servers_reply_loses_anything_like_a_credential():
    reply = ("535 5.7.8 AUTH PLAIN AG1lAHMzY3JldA== rejected; password=hunter2 token ya29.a0AfH6SMB1x "
             "Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig key Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA=")
    clean = server_reply(reply, "s3cret")
    for leaked in ("AG1lAHMzY3JldA", "hunter2", "ya29", "eyJhbGci", "Zm9vYmFy"):
        assert leaked not in clean
    assert clean.startswith("535 5.7.8 AUTH PLAIN [redacted] rejected; password=[redacted]")
    assert without_secrets("you said s3cret-Pa55", "s3cret-Pa55") == "you said [redacted]"
    normal = "550 5.1.1 <bob@acme.example>: Recipient address rejected; see https://example.com/550"
    assert server_reply(normal) == normal
    assert len(server_reply("x" * 1000, limit=300)) == 300
