"""Conversation prompts and the text of a touchbase event.

The prompts follow the habits the agent automates: ask questions, offer help, ask for their
opinion, share useful information. The description never carries the user's private notes: the
colleague sees it in the invitation.
"""
from __future__ import annotations

import hashlib

from agent.model import AGENT_TAG_NAME

PROMPTS: dict[str, tuple[str, ...]] = {
    "ask": (
        "What are you focused on this month, and what is getting in the way?",
        "What has changed for your team since we last talked?",
        "What is something you are proud of from the last few weeks?",
        "Which of your priorities is hardest to get support for right now?",
    ),
    "offer": (
        "Is there anything I can help with, or someone I could introduce you to?",
        "Where could my team make your work easier?",
        "Is there a decision coming up where an extra pair of eyes would help?",
    ),
    "opinion": (
        "I would value your view on something I am working on: what would you do differently?",
        "What do you think we as a group should stop doing?",
        "What would you want to know about my team's plans?",
    ),
    "share": (
        "Share one useful thing you learned or read since the last touchbase.",
        "Bring news from your side that affects their work.",
        "Mention a person or resource they may find useful.",
    ),
}
ORDER = ("ask", "offer", "opinion", "share")


def prompts_for(series_id: str, count: int = 3) -> list[str]:
    """`count` prompts from different habits, chosen deterministically for a series."""
    seed = int(hashlib.sha1(series_id.encode("utf-8")).hexdigest(), 16)
    first = seed % len(ORDER)
    kinds = [ORDER[(first + i) % len(ORDER)] for i in range(min(count, len(ORDER)))]
    return [PROMPTS[kind][(seed >> (4 * i)) % len(PROMPTS[kind])] for i, kind in enumerate(kinds)]


def title_for(colleague_name: str, colleague_email: str) -> str:
    """The event title, e.g. "Touchbase: Alice Smith": the colleague's display name, else one
    made from the address's local part (a "name" that is an address counts as none), the same
    on every write target."""
    name = colleague_name.strip()
    return f"Touchbase: {name if name and '@' not in name else display_name(colleague_email)}"


def display_name(email: str) -> str:
    """A readable name from an address when the calendar gives none: alice.smith@x -> Alice Smith."""
    local = email.partition("@")[0]
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w]
    return " ".join(w.capitalize() for w in words) or email


def description_for(series_id: str, schedule: str) -> str:
    """The event description: what it is and when it meets (`schedule`, the phrase of
    `agent.planning.recurrence.schedule_phrase`), a few prompts, and the agent's tag."""
    lines = [
        f"A touchbase to stay in touch: {schedule}.",
        "",
        "Ideas for the conversation:",
        *[f"- {prompt}" for prompt in prompts_for(series_id)],
        "",
        f"Booked by touchbase ({AGENT_TAG_NAME}: {series_id}).",
    ]
    return "\n".join(lines)
