"""One vocabulary for where a colleague stands (tracked, not tracked, let go, paused): `people`,
`person` (text and JSON) and the map say it the same way."""
from __future__ import annotations

import json
from datetime import timedelta

from agent.landscape.map import render_map
from agent.landscape.matrix import matrix, reciprocity_flags
from agent.relationships import relationships
from agent.storage import people_records
from tests.helpers import flat, run_cli
from tests.planning_helpers import NOW, NOW_DT, drifting, open_all, past_meetings, setup

KEN, ERIN, MEI = "ken@acme.example", "erin@acme.example", "mei@acme.example"


def people_table(config_path) -> dict[str, str]:
    """email -> the status cell of the `people` table (and the legend under it)."""
    lines = run_cli(config_path, "people", now=NOW).output.splitlines()
    status = lines[0].index("status")  # the columns are fixed-width
    result = {}
    for line in lines[2:]:
        email = line[14:43].strip()
        if "@" in email:
            result[email] = line[status:status + 8].strip()
        else:
            result["legend"] = line
    return result


def person(config_path, email: str) -> tuple[list[str], dict]:
    text = run_cli(config_path, "person", email, now=NOW)
    data = run_cli(config_path, "person", email, "--json", now=NOW)
    assert text.exit_code == 0 and data.exit_code == 0, text.output + data.output
    return text.output.splitlines(), json.loads(data.output)


def people_json(config_path) -> dict[str, dict]:
    return {r["email"]: r for r in json.loads(run_cli(config_path, "people", "--json", now=NOW).output)}


def test_not_tracked_reads_the_same_in_people_and_person(tmp_path):
    config_path = setup(tmp_path, [*drifting(KEN), *past_meetings(ERIN, [100])],
                        extra='[touchbase]\nmode = "off"\n')
    lines, data = person(config_path, ERIN)
    assert lines[0] == f"{ERIN} (not tracked)"
    assert lines[1].startswith("  status:       not tracked (fewer than 3 meetings")
    assert "overdue" not in "\n".join(lines)
    assert (data["tracking"], data["tracked"], data["status"]) == ("not tracked", False, None)
    row = people_json(config_path)[ERIN]
    assert (row["tracking"], row.get("status")) == ("not tracked", None)
    table = people_table(config_path)
    assert table[ERIN] == "-" and table[KEN] == "overdue"
    assert table["legend"] == "status -: not tracked (`touchbase rate EMAIL` tracks someone)"
    lines, data = person(config_path, KEN)
    assert lines[0] == f"{KEN} (tracked)" and lines[1].startswith("  status:       overdue (aim:")
    assert (data["tracking"], data["status"]) == ("tracked", "overdue")


def test_let_go_reads_let_go_everywhere(tmp_path):
    config_path = setup(tmp_path, drifting(KEN), extra='[touchbase]\nmode = "off"\n')
    assert run_cli(config_path, "let-go", KEN, now=NOW).exit_code == 0
    lines, data = person(config_path, KEN)
    assert lines[0] == f"{KEN} (let go)"
    assert lines[1] == f"  status:       let go (`touchbase resume {KEN}` brings them back)"
    assert not [line for line in lines if "tracked" in line or line.startswith("  let go:")]
    assert data["tracking"] == "let go" and data["let_go"] is True
    assert people_json(config_path)[KEN]["tracking"] == "let go"
    assert people_table(config_path)[KEN] == "let go"
    assert run_cli(config_path, "resume", KEN, now=NOW).exit_code == 0
    assert person(config_path, KEN)[0][0] == f"{KEN} (tracked)"


def test_paused_reads_paused_in_people_person_and_the_map(tmp_path):
    config_path = setup(tmp_path, [*drifting(KEN), *drifting(MEI)], extra='[touchbase]\nmode = "off"\n')
    config, store = open_all(config_path)
    until = NOW_DT + timedelta(days=90)
    with store.atomic():
        people_records.pause(store, KEN, until, "declined the touchbase 2 times")
    lines, data = person(config_path, KEN)
    assert lines[0] == f"{KEN} (paused)"
    assert lines[1].startswith(f"  status:       paused until {until:%Y-%m-%d %H:%M}")  # folded at 80
    assert (f"status: paused until {until:%Y-%m-%d %H:%M} (`touchbase resume {KEN}` ends the pause)"
            in flat("\n".join(lines)))
    assert data["tracking"] == "paused" and data["paused_until"] is not None
    assert people_json(config_path)[KEN]["tracking"] == "paused"
    assert people_table(config_path)[KEN] == "paused" and people_table(config_path)[MEI] == "overdue"
    rels = relationships(config, store, NOW_DT)
    html = render_map(config, matrix(config, rels), reciprocity_flags(rels), NOW_DT)
    assert f"{KEN}: paused" in html and f"{MEI}: overdue" in html
    reconnect = html.split("<h2>Reconnect with</h2>", 1)[1].split("<h2>", 1)[0]
    assert MEI in reconnect and KEN not in reconnect
    store.close()
