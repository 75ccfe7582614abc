"""Every screen of the app: name, module, class, key and title, imported only when opened.

The app, its footer bindings and the command palette are all built from this one list, so a
new screen is added here once.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ScreenEntry", "CATALOG"]


class ScreenEntry(NamedTuple):
    """One screen of the app (a named tuple: built at start-up, where a frozen dataclass
    costs half a millisecond to define)."""

    name: str
    module: str
    cls: str
    key: str
    title: str
    help: str


CATALOG: tuple[ScreenEntry, ...] = (
    ScreenEntry("dashboard", "dashboard", "DashboardScreen", "d", "Dashboard",
                "Next check-in, open items and sync state"),
    ScreenEntry("checkin", "checkin", "CheckinScreen", "c", "Check-in",
                "The guided check-in with timer and agenda"),
    ScreenEntry("history", "past_checkins", "PastCheckinsScreen", "l", "Past check-ins",
                "Every check-in held: what it covered, its notes and outcomes"),
    ScreenEntry("goals", "goals", "GoalsScreen", "g", "Goals", "Goals and their progress"),
    ScreenEntry("asks", "asks", "AsksScreen", "a", "Asks", "Asks for help, both ways"),
    ScreenEntry("commitments", "commitments", "CommitmentsScreen", "m", "Commitments",
                "Commitments and their follow-ups"),
    ScreenEntry("challenges", "challenges", "ChallengesScreen", "h", "Challenges",
                "Challenges proposed, accepted and done"),
    ScreenEntry("feedback", "feedback", "FeedbackScreen", "f", "Feedback",
                "Perspective, suggestions and pushes"),
    ScreenEntry("wins", "wins", "WinsScreen", "w", "Wins & story",
                "Wins, the timeline and each partner's story"),
    ScreenEntry("review", "review", "ReviewScreen", "v", "Review",
                "Where we started, where we are: baselines, goals, story, wins, cadence"),
    ScreenEntry("skills", "skills", "SkillsScreen", "k", "Skills",
                "The complementary-skills matrix"),
    ScreenEntry("schedule", "schedule", "ScheduleScreen", "s", "Schedule",
                "Cadence, upcoming dates and calendar export"),
    ScreenEntry("search", "search", "SearchScreen", "slash", "Search", "Search everything"),
    ScreenEntry("points", "points", "TalkingPointsScreen", "o", "Talking points",
                "Points for the next check-in: private drafts until shared"),
    ScreenEntry("notes", "notes", "PrivateNotesScreen", "n", "Private notes",
                "Notes that never leave this device"),
    ScreenEntry("conflicts", "conflicts", "ConflictsScreen", "x", "Conflicts",
                "Concurrent edits and held-back operations"),
    ScreenEntry("deleted", "deleted", "DeletedScreen", "z", "Recently deleted",
                "Deleted items: who deleted them, and bring them back"),
    ScreenEntry("devices", "devices", "DevicesScreen", "p", "Partnership & devices",
                "Safety numbers, devices and sync state"),
)
