"""The journal's public face: open a journal, the practice's verbs, and the queries.

The interfaces (the app and the command line) reach the journal only through the names
listed in ``__all__`` here (plus :mod:`comentor.model.errors`); sync uses
:mod:`comentor.model.replication`. Modules whose names start with an underscore are
internal. Names are loaded on first use, so that ``import comentor.model`` stays cheap for
commands that need one verb (sqlite-utils, icalendar and the like load only when used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backup import BackupReport, RestoreReport, backup_journal, restore_backup
    from ._calendar import export_ics
    from ._checkin import (
        AgendaItem,
        CheckinStatus,
        EndSummary,
        agenda,
        checkin_status,
        covered_items,
        end_summary,
        goals_needing_update,
        is_first_checkin,
    )
    from ._checkin import current_session as current_checkin
    from ._checkin import end_session as end_checkin
    from ._checkin import last_session as last_checkin
    from ._checkin import set_notes as set_checkin_notes
    from ._checkin import start_session as start_checkin
    from ._checkin_items import (
        COVER_OUTCOMES,
        FEEDBACK_RESPONSES,
        NEW_ITEM_KINDS,
        add_checkin_item,
        answer_feedback,
        cover_item,
        new_item_defaults,
    )
    from ._clock import physical_ms
    from ._conflicts import Conflict, conflicts
    from ._dashboard import Dashboard, dashboard
    from ._dates import check_zone, parse_date, parse_every, parse_time, system_zone
    from ._deleted import DeletedItem, deleted_items
    from ._demo import DEMO_SEED, create_demo
    from ._devices import (
        PeerDevice,
        Removal,
        ensure_syncable,
        is_paired,
        rename_device,
        revoke_device,
        safety_number,
    )
    from ._devices import devices as list_devices
    from ._devices import removal as device_removal
    from ._edit import (
        CLOSABLE_TABLES,
        Close,
        close_item,
        delete_item,
        edit_item,
        is_closed,
        item_kind,
        resolve_conflict,
        restore_item,
    )
    from ._entities import (
        NEEDS_PARTNER,
        add_ask,
        add_commitment,
        add_feedback,
        add_goal,
        add_note,
        add_skill,
        add_talking_point,
        add_update,
        add_win,
        answer_ask,
        carry_commitment,
        close_ask,
        close_commitment,
        complete_challenge,
        confirm_checklist,
        is_blank,
        is_vague,
        propose_challenge,
        record_baseline,
        respond_challenge,
        set_goal_status,
        share_draft,
        write_story,
    )
    from ._epoch import state_dir
    from ._export import export_json
    from ._find import find_item
    from ._health import explain_sqlite_error
    from ._identity import DeviceKeys
    from ._journal import Journal, iso
    from ._markdown import export_markdown
    from ._onboarding import (
        CHECKLIST_KEYS,
        PEER_CHECKLIST,
        CadenceChoice,
        Onboarding,
        PeerChecklist,
        check_cadence_choice,
        checklist_from,
        confirm_partnership,
        onboarding,
        parse_minutes,
        peer_checklist,
        start_partnership,
    )
    from ._ops import short_id
    from ._output import journal_files, write_file_safely
    from ._past_checkins import (
        OUTSIDE,
        PastCheckin,
        checkin_record,
        outside_notes,
        outside_record,
        past_checkins,
    )
    from ._quarantine import quarantined
    from ._quarantine import release as release_held
    from ._quarantine import release_all as release_all_held
    from ._queries import (
        KINDS,
        SkillMatch,
        SkillsMatrix,
        goal_progress,
        list_items,
        on_this_day,
        skills_matrix,
        suggest_helpers,
        timeline,
    )
    from ._queries import status as journal_status
    from ._remote import ApplyResult
    from ._repair import RepairReport, repair_journal
    from ._replaced import file_identity, let_go, written_elsewhere
    from ._review import Review, parse_since, review
    from ._review_html import render_review_html
    from ._review_md import render_review_markdown
    from ._schedule import (
        Cadence,
        NextCheckin,
        Reminder,
        cadence,
        drift_state,
        next_checkin,
        parse_when,
        remind_due,
        series_version,
        set_cadence,
        when_text,
    )
    from ._schedule import propose_next as propose_next_checkin
    from ._schedule import upcoming as upcoming_checkins
    from ._search import SEARCH_LIMIT, Hit, SearchPage, search, search_label, search_page
    from ._shared_text import (
        SharedText,
        Splice,
        map_offset,
        shared_text_state,
        write_text_state,
        write_text_updates,
    )
    from ._timer import (
        TIMER_EVENTS,
        TimeBalance,
        TimerState,
        time_balance,
        timer_event,
        timer_state,
    )
    from ._views import (
        FeedbackTarget,
        Partnership,
        feedback_on,
        feedback_receiver,
        feedback_targets,
        is_demo_journal,
        missing_baselines,
        owning_item,
        partnership_state,
        stories,
        updates_of,
    )

__all__ = [
    # the review, "where we started, where we are" (issue 10)
    "parse_since", "render_review_html", "render_review_markdown", "Review", "review",
    # the first run of both partners: the peer checklist and the cadence (issue 10)
    "CadenceChoice", "check_cadence_choice", "parse_minutes", "CHECKLIST_KEYS", "checklist_from",
    "confirm_partnership", "Onboarding", "onboarding", "PEER_CHECKLIST", "PeerChecklist",
    "peer_checklist", "start_partnership",
    # a real backup, and restoring one as a new epoch (issue 10)
    "backup_journal", "BackupReport", "restore_backup", "RestoreReport",
    # the check-in shared by both screens: lifecycle, one timer, shared text, feedback
    # answers (issue 13)
    "answer_feedback", "CheckinStatus", "checkin_status", "end_summary", "FEEDBACK_RESPONSES",
    "map_offset", "SharedText", "shared_text_state", "Splice", "time_balance", "TimeBalance",
    "TIMER_EVENTS", "timer_event", "timer_state", "TimerState", "write_text_updates",
    "write_text_state", "when_text",
    # past check-ins: the list, and the record of one
    "PastCheckin", "past_checkins", "checkin_record", "OUTSIDE", "outside_notes",
    "outside_record",
    # deleted items and files the user names (issue 8)
    "DeletedItem", "deleted_items", "item_kind", "short_id", "journal_files", "write_file_safely",
    # the check-in's rules: outcomes, new items, notes (issue 12)
    "add_checkin_item", "COVER_OUTCOMES", "new_item_defaults", "NEW_ITEM_KINDS",
    "set_checkin_notes",
    # editing, closing, deleting and restoring items; reads for the screens (issue 12)
    "CLOSABLE_TABLES", "Close", "close_item", "is_closed", "Dashboard", "dashboard", "delete_item",
    "edit_item", "FeedbackTarget", "feedback_on", "feedback_receiver", "feedback_targets",
    "is_demo_journal",
    "missing_baselines", "owning_item", "Partnership", "partnership_state", "resolve_conflict",
    "restore_item", "stories", "updates_of",
    "add_ask", "add_commitment", "add_feedback", "add_goal", "add_note", "add_skill",
    "add_talking_point", "add_update", "add_win", "agenda", "AgendaItem", "answer_ask",
    "ApplyResult", "Cadence", "cadence", "carry_commitment", "close_ask", "close_commitment",
    "complete_challenge", "confirm_checklist", "Conflict", "conflicts", "cover_item",
    "covered_items", "create_demo", "current_checkin", "DEMO_SEED", "DeviceKeys", "drift_state",
    "end_checkin", "EndSummary", "ensure_syncable", "export_ics", "export_json",
    "export_markdown", "find_item", "goal_progress", "goals_needing_update", "Hit",
    "SearchPage", "search_label", "search_page", "SEARCH_LIMIT",
    "is_blank", "NEEDS_PARTNER", "is_first_checkin", "is_paired", "is_vague", "iso", "Journal", "journal_status", "KINDS",
    "last_checkin", "list_devices", "list_items", "next_checkin", "NextCheckin", "on_this_day",
    "parse_date", "parse_every", "parse_time", "parse_when", "PeerDevice", "physical_ms",
    "system_zone", "check_zone", "series_version", "remind_due", "Reminder",
    "propose_challenge", "propose_next_checkin", "quarantined", "record_baseline",
    "repair_journal", "RepairReport", "explain_sqlite_error",
    "file_identity", "let_go", "written_elsewhere", "release_all_held", "release_held", "Removal", "device_removal", "respond_challenge", "rename_device", "revoke_device",
    "safety_number", "search",
    "set_cadence", "set_goal_status", "share_draft", "SkillMatch", "skills_matrix",
    "SkillsMatrix", "start_checkin", "state_dir", "suggest_helpers", "timeline",
    "upcoming_checkins", "write_story",
]

_LAZY: dict[str, tuple[str, str]] = {
    "review": ("_review", "review"),
    "Review": ("_review", "Review"),
    "parse_since": ("_review", "parse_since"),
    "render_review_html": ("_review_html", "render_review_html"),
    "render_review_markdown": ("_review_md", "render_review_markdown"),
    "backup_journal": ("_backup", "backup_journal"),
    "BackupReport": ("_backup", "BackupReport"),
    "restore_backup": ("_backup", "restore_backup"),
    "RestoreReport": ("_backup", "RestoreReport"),
    "answer_feedback": ("_checkin_items", "answer_feedback"),
    "FEEDBACK_RESPONSES": ("_checkin_items", "FEEDBACK_RESPONSES"),
    "CheckinStatus": ("_checkin", "CheckinStatus"),
    "checkin_status": ("_checkin", "checkin_status"),
    "end_summary": ("_checkin", "end_summary"),
    "SharedText": ("_shared_text", "SharedText"),
    "Splice": ("_shared_text", "Splice"),
    "map_offset": ("_shared_text", "map_offset"),
    "shared_text_state": ("_shared_text", "shared_text_state"),
    "write_text_updates": ("_shared_text", "write_text_updates"),
    "write_text_state": ("_shared_text", "write_text_state"),
    "when_text": ("_schedule", "when_text"),
    "TIMER_EVENTS": ("_timer", "TIMER_EVENTS"),
    "TimeBalance": ("_timer", "TimeBalance"),
    "TimerState": ("_timer", "TimerState"),
    "time_balance": ("_timer", "time_balance"),
    "timer_event": ("_timer", "timer_event"),
    "timer_state": ("_timer", "timer_state"),
    "DeletedItem": ("_deleted", "DeletedItem"),
    "PastCheckin": ("_past_checkins", "PastCheckin"),
    "past_checkins": ("_past_checkins", "past_checkins"),
    "checkin_record": ("_past_checkins", "checkin_record"),
    "OUTSIDE": ("_past_checkins", "OUTSIDE"),
    "outside_notes": ("_past_checkins", "outside_notes"),
    "outside_record": ("_past_checkins", "outside_record"),
    "item_kind": ("_edit", "item_kind"),
    "short_id": ("_ops", "short_id"),
    "deleted_items": ("_deleted", "deleted_items"),
    "journal_files": ("_output", "journal_files"),
    "write_file_safely": ("_output", "write_file_safely"),
    "CLOSABLE_TABLES": ("_edit", "CLOSABLE_TABLES"),
    "Close": ("_edit", "Close"),
    "close_item": ("_edit", "close_item"),
    "is_closed": ("_edit", "is_closed"),
    "edit_item": ("_edit", "edit_item"),
    "delete_item": ("_edit", "delete_item"),
    "restore_item": ("_edit", "restore_item"),
    "resolve_conflict": ("_edit", "resolve_conflict"),
    "Dashboard": ("_dashboard", "Dashboard"),
    "dashboard": ("_dashboard", "dashboard"),
    "FeedbackTarget": ("_views", "FeedbackTarget"),
    "feedback_on": ("_views", "feedback_on"),
    "feedback_receiver": ("_views", "feedback_receiver"),
    "feedback_targets": ("_views", "feedback_targets"),
    "is_demo_journal": ("_views", "is_demo_journal"),
    "missing_baselines": ("_views", "missing_baselines"),
    "owning_item": ("_views", "owning_item"),
    "Partnership": ("_views", "Partnership"),
    "partnership_state": ("_views", "partnership_state"),
    "stories": ("_views", "stories"),
    "updates_of": ("_views", "updates_of"),
    "Journal": ("_journal", "Journal"),
    "iso": ("_journal", "iso"),
    "DeviceKeys": ("_identity", "DeviceKeys"),
    "state_dir": ("_epoch", "state_dir"),
    "create_demo": ("_demo", "create_demo"),
    "DEMO_SEED": ("_demo", "DEMO_SEED"),
    "add_goal": ("_entities", "add_goal"),
    "set_goal_status": ("_entities", "set_goal_status"),
    "add_update": ("_entities", "add_update"),
    "add_commitment": ("_entities", "add_commitment"),
    "close_commitment": ("_entities", "close_commitment"),
    "carry_commitment": ("_entities", "carry_commitment"),
    "add_ask": ("_entities", "add_ask"),
    "answer_ask": ("_entities", "answer_ask"),
    "close_ask": ("_entities", "close_ask"),
    "add_feedback": ("_entities", "add_feedback"),
    "propose_challenge": ("_entities", "propose_challenge"),
    "respond_challenge": ("_entities", "respond_challenge"),
    "complete_challenge": ("_entities", "complete_challenge"),
    "add_win": ("_entities", "add_win"),
    "write_story": ("_entities", "write_story"),
    "add_skill": ("_entities", "add_skill"),
    "record_baseline": ("_entities", "record_baseline"),
    "add_note": ("_entities", "add_note"),
    "add_talking_point": ("_entities", "add_talking_point"),
    "share_draft": ("_entities", "share_draft"),
    "confirm_checklist": ("_entities", "confirm_checklist"),
    "is_blank": ("_entities", "is_blank"),
    "NEEDS_PARTNER": ("_entities", "NEEDS_PARTNER"),
    "is_vague": ("_entities", "is_vague"),
    "AgendaItem": ("_agenda", "AgendaItem"),
    "EndSummary": ("_checkin", "EndSummary"),
    "agenda": ("_agenda", "agenda"),
    "start_checkin": ("_checkin", "start_session"),
    "cover_item": ("_checkin_items", "cover_item"),
    "COVER_OUTCOMES": ("_checkin_items", "COVER_OUTCOMES"),
    "NEW_ITEM_KINDS": ("_checkin_items", "NEW_ITEM_KINDS"),
    "new_item_defaults": ("_checkin_items", "new_item_defaults"),
    "add_checkin_item": ("_checkin_items", "add_checkin_item"),
    "set_checkin_notes": ("_agenda", "set_notes"),
    "end_checkin": ("_checkin", "end_session"),
    "covered_items": ("_agenda", "covered_items"),
    "current_checkin": ("_agenda", "current_session"),
    "last_checkin": ("_agenda", "last_session"),
    "is_first_checkin": ("_agenda", "is_first_checkin"),
    "goals_needing_update": ("_agenda", "goals_needing_update"),
    "Cadence": ("_schedule", "Cadence"),
    "NextCheckin": ("_schedule", "NextCheckin"),
    "cadence": ("_schedule", "cadence"),
    "set_cadence": ("_schedule", "set_cadence"),
    "next_checkin": ("_schedule", "next_checkin"),
    "upcoming_checkins": ("_schedule", "upcoming"),
    "propose_next_checkin": ("_schedule", "propose_next"),
    "parse_when": ("_schedule", "parse_when"),
    "drift_state": ("_schedule", "drift_state"),
    "KINDS": ("_queries", "KINDS"),
    "list_items": ("_queries", "list_items"),
    "journal_status": ("_queries", "status"),
    "skills_matrix": ("_queries", "skills_matrix"),
    "SkillMatch": ("_queries", "SkillMatch"),
    "SkillsMatrix": ("_queries", "SkillsMatrix"),
    "timeline": ("_queries", "timeline"),
    "on_this_day": ("_queries", "on_this_day"),
    "suggest_helpers": ("_queries", "suggest_helpers"),
    "goal_progress": ("_queries", "goal_progress"),
    "quarantined": ("_quarantine", "quarantined"),
    "repair_journal": ("_repair", "repair_journal"),
    "RepairReport": ("_repair", "RepairReport"),
    "explain_sqlite_error": ("_health", "explain_sqlite_error"),
    "release_held": ("_quarantine", "release"),
    "release_all_held": ("_quarantine", "release_all"),
    "file_identity": ("_replaced", "file_identity"),
    "let_go": ("_replaced", "let_go"),
    "written_elsewhere": ("_replaced", "written_elsewhere"),
    "conflicts": ("_conflicts", "conflicts"),
    "Conflict": ("_conflicts", "Conflict"),
    "ApplyResult": ("_remote", "ApplyResult"),
    "list_devices": ("_devices", "devices"),
    "revoke_device": ("_devices", "revoke_device"),
    "rename_device": ("_devices", "rename_device"),
    "Removal": ("_devices", "Removal"),
    "device_removal": ("_devices", "removal"),
    "is_paired": ("_devices", "is_paired"),
    "ensure_syncable": ("_devices", "ensure_syncable"),
    "safety_number": ("_devices", "safety_number"),
    "PeerDevice": ("_peer", "PeerDevice"),
    "export_json": ("_export", "export_json"),
    "export_markdown": ("_markdown", "export_markdown"),
    "export_ics": ("_calendar", "export_ics"),
    "search": ("_search", "search"),
    "Hit": ("_search", "Hit"),
    "SearchPage": ("_search", "SearchPage"),
    "search_page": ("_search", "search_page"),
    "search_label": ("_search", "search_label"),
    "SEARCH_LIMIT": ("_search", "SEARCH_LIMIT"),
    "find_item": ("_find", "find_item"),
    "parse_date": ("_dates", "parse_date"),
    "parse_every": ("_dates", "parse_every"),
    "parse_time": ("_dates", "parse_time"),
    "system_zone": ("_dates", "system_zone"),
    "check_zone": ("_dates", "check_zone"),
    "series_version": ("_schedule", "series_version"),
    "remind_due": ("_schedule", "remind_due"),
    "Reminder": ("_schedule", "Reminder"),
    "physical_ms": ("_clock", "physical_ms"),
    "PEER_CHECKLIST": ("_onboarding", "PEER_CHECKLIST"),
    "CHECKLIST_KEYS": ("_onboarding", "CHECKLIST_KEYS"),
    "PeerChecklist": ("_onboarding", "PeerChecklist"),
    "peer_checklist": ("_onboarding", "peer_checklist"),
    "checklist_from": ("_onboarding", "checklist_from"),
    "CadenceChoice": ("_onboarding", "CadenceChoice"),
    "check_cadence_choice": ("_onboarding", "check_cadence_choice"),
    "parse_minutes": ("_onboarding", "parse_minutes"),
    "Onboarding": ("_onboarding", "Onboarding"),
    "onboarding": ("_onboarding", "onboarding"),
    "start_partnership": ("_onboarding", "start_partnership"),
    "confirm_partnership": ("_onboarding", "confirm_partnership"),
}


def __getattr__(name: str) -> Any:
    """Load a public name from its internal module on first use (PEP 562)."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'comentor.model' has no attribute {name!r}") from None
    value = getattr(importlib.import_module("." + module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
