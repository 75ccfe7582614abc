"""What the journal holds: the synced tables, their fields, and the local-only tables.

The synced tables are a projection of the operations; their shape is declared once here
(:data:`TABLES`) and used by validation, by the projection and by the migrations. Local-only
tables are never named by any operation: an operation naming one is rejected, because
:data:`TABLES` is the whole list of what an operation may touch.
"""

from __future__ import annotations

from ._record import Record

__all__ = [
    "FORMAT",
    "MIGRATION_RELEASES",
    "release_key",
    "expected_columns",
    "Field",
    "TABLES",
    "LOCAL_TABLES",
    "TEXT_LIMIT",
    "MIGRATION_NAMES",
    "ADDED_BY",
    "TABLE_ADDED_BY",
    "LONG_TEXT_LIMIT",
    "searchable_fields",
    "long_text_fields",
]

# What local_meta's 'format' row says in every comentor journal: the mark that tells a
# journal from any other SQLite file (and, found in a damaged file's bytes, a damaged
# journal from something else).
FORMAT = "comentor-journal-1"

# Every migration in migrations.py, in order, with the comentor release that introduced it:
# opening a journal compares the names with what the journal has run without importing
# sqlite-utils (a test keeps them in step), and a journal records the release of its newest
# migration (local_meta 'needs_version'), so an older comentor that finds migrations it does
# not know can say which version the journal needs.
MIGRATION_RELEASES: tuple[tuple[str, str], ...] = (
    ("m001_initial", "0.1.0"),
    ("m002_search", "0.1.0"),
    ("m003_revocation_cutoff", "0.1.0"),
    ("m004_key_grants", "0.1.0"),
    ("m005_shared_checkin", "0.2.0"),
    ("m006_forks", "0.2.0"),
    ("m007_calendar", "0.2.0"),
    ("m008_scale", "0.2.0"),
    ("m009_row_clocks", "0.3.0"),
    ("m010_draft_search", "0.3.1"),
)
MIGRATION_NAMES = tuple(name for name, _ in MIGRATION_RELEASES)


def release_key(version: str) -> tuple[int, ...]:
    """A release number ("0.1.0") as something that sorts like one."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


TEXT_LIMIT = 2_000
LONG_TEXT_LIMIT = 100_000


class Field(Record):
    """One field of a synced table (a frozen record: see _record.py).

    kind is one of: str (short text), text (long text; concurrent edits keep the loser as a
    conflict), int, bool, date (YYYY-MM-DD), datetime (ISO 8601, UTC), bytes, ref (the id of a
    row of `ref`), enum (one of `choices`).
    """

    kind: str
    choices: tuple[str, ...] = ()
    ref: str = ""
    search: bool = False
    low: int | None = None
    high: int | None = None
    max_bytes: int = 64  # for kind bytes: the longest value accepted


def _s(search: bool = True) -> Field:
    return Field("str", search=search)


def _t() -> Field:
    return Field("text", search=True)


def _e(*choices: str) -> Field:
    return Field("enum", choices=choices)


def _r(table: str) -> Field:
    return Field("ref", ref=table)


_D = Field("date")
_DT = Field("datetime")
_B = Field("bool")
_I = Field("int")

TABLES: dict[str, dict[str, Field]] = {
    "partnership": {
        "name": _s(),
        "outside_company": _B,
        "outside_market": _B,
        "similar_stage": _B,
        "confirmed_at": _DT,
        "created_at": _DT,
    },
    "people": {"name": _s(), "joined_at": _DT},
    "devices": {
        "person": _r("people"),
        "name": _s(False),
        "sign_pk": Field("bytes"),
        "box_pk": Field("bytes"),
        "added_at": _DT,
        "revoked_at": _DT,
        # the revoker's version vector of the device's replicas at revocation (JSON): what it
        # made before then is kept everywhere; anything it makes later is refused
        "revoked_seqs": _s(False),
    },
    "baselines": {
        "person": _r("people"),
        "role": _s(),
        "situation": _t(),
        "clients": _t(),
        "concentration": _e("low", "medium", "high"),
        "near_goals": _t(),
        "long_goals": _t(),
        "session": _r("sessions"),
        "recorded_at": _DT,
    },
    "goals": {
        "person": _r("people"),
        "text": _s(),
        "detail": _t(),
        "horizon": _e("near", "long"),
        "target": _D,
        "status": _e("open", "met", "dropped"),
        "created_at": _DT,
        "closed_at": _DT,
    },
    "updates": {
        "goal": _r("goals"),
        "person": _r("people"),
        "text": _t(),
        "progress": Field("int", low=0, high=100),
        "session": _r("sessions"),
        "created_at": _DT,
    },
    "commitments": {
        "person": _r("people"),
        "text": _s(),
        "due": _D,
        "status": _e("open", "done", "dropped"),
        "follow_up": _s(),
        "result": _t(),
        "session": _r("sessions"),
        "created_at": _DT,
        "closed_at": _DT,
    },
    "asks": {
        "person": _r("people"),
        "kind": _e("introduction", "project", "question", "feedback", "other"),
        "text": _s(),
        "outcome": _s(),
        "status": _e("open", "answered", "closed"),
        "answer": _t(),
        "answered_by": _r("people"),
        "created_at": _DT,
        "answered_at": _DT,
    },
    "feedback": {
        "person": _r("people"),
        "to_person": _r("people"),
        "kind": _e("perspective", "suggestion", "push"),
        "text": _t(),
        "target_table": _e("goals", "asks", "stories", ""),
        "target_id": _s(False),
        "created_at": _DT,
        # the answer of the partner it was for (issue 13): tried it, will try, disagree
        "response": _e("tried", "will_try", "disagree"),
        "response_text": _s(),
        "responded_at": _DT,
        "session": _r("sessions"),
    },
    "challenges": {
        "proposer": _r("people"),
        "person": _r("people"),
        "text": _s(),
        "status": _e("offered", "accepted", "declined", "done"),
        "due": _D,
        "follow_up": _t(),
        "created_at": _DT,
        "closed_at": _DT,
    },
    "wins": {"person": _r("people"), "text": _s(), "detail": _t(), "date": _D, "created_at": _DT},
    "stories": {"person": _r("people"), "text": _t(), "created_at": _DT},
    "skills": {
        "person": _r("people"),
        "text": _s(),
        "kind": _e("skill", "experience"),
        "direction": _e("strength", "grow"),
        "created_at": _DT,
    },
    "sessions": {
        "planned_at": _DT,
        "started_at": _DT,
        "ended_at": _DT,
        "minutes": Field("int", low=1, high=600),
        "notes": _t(),
        "status": _e("planned", "open", "done", "skipped"),
        "next_at": _DT,
        "created_at": _DT,
        # the shared lifecycle and the time split (issue 13): who started and who ended it,
        # and each partner's speaking seconds as JSON {person: seconds}
        "started_by": _r("people"),
        "ended_by": _r("people"),
        "split": _s(False),
    },
    "session_items": {
        "session": _r("sessions"),
        "item_table": _s(False),
        "item_id": _s(False),
        "outcome": _s(),
        "covered_at": _DT,
    },
    "talking_points": {
        "person": _r("people"),
        "text": _s(),
        "status": _e("open", "covered"),
        "session": _r("sessions"),
        "created_at": _DT,
        "shared_at": _DT,
    },
    "notes": {"person": _r("people"), "text": _t(), "session": _r("sessions"), "created_at": _DT},
    # a new partnership key, sealed (X25519 SealedBox) to one device's box_pk: written when a
    # device is revoked, so the remaining devices switch keys and the revoked one cannot follow.
    # Every grant of one rotation carries the same `generation` (see model/rotation.py).
    "key_grants": {
        "device": _r("devices"),
        "sealed": Field("bytes", max_bytes=128),
        "generation": _s(False),
        "created_at": _DT,
    },
    "schedule": {
        "every_days": Field("int", low=1, high=365),
        "at": _s(False),
        "minutes": Field("int", low=5, high=600),
        "start": _D,
        # the IANA zone of whoever set the cadence: every date of the series is "at" there
        "zone": _s(False),
        "alarm_minutes": Field("int", low=0, high=10080),
        # how often the series has moved, and when last (iCalendar SEQUENCE, LAST-MODIFIED)
        "sequence": Field("int", low=0, high=1_000_000_000),
        "modified_at": _DT,
    },
    # one step of the check-in's shared timer (start, pause, hand-over), folded in clock
    # order into one state on every device (see model/_timer.py)
    "timer_events": {
        "session": _r("sessions"),
        "kind": _e("start", "pause", "hand_over"),
        "speaker": _r("people"),
        "person": _r("people"),
        "created_at": _DT,
    },
    # one update of a text merged at the character level (a Yjs/Yrs CRDT via pycrdt) for
    # the long texts both partners type at once (see model/_crdt.py)
    "text_updates": {
        "tbl": _e("sessions"),
        "row_id": _s(False),
        "field": _e("notes"),
        "update": Field("bytes", max_bytes=240_000),
        "created_at": _DT,
    },
}

# Fields added after the first schema, and the migration that adds them: the first
# migration creates each table without them, so migrating from any earlier schema is real.
ADDED_BY: dict[tuple[str, str], str] = {("devices", "revoked_seqs"): "m003_revocation_cutoff"}
ADDED_BY.update({(t, f): "m005_shared_checkin" for t, f in (
    ("feedback", "response"), ("feedback", "response_text"), ("feedback", "responded_at"),
    ("feedback", "session"), ("sessions", "started_by"), ("sessions", "ended_by"),
    ("sessions", "split"))})

ADDED_BY.update({("schedule", f): "m007_calendar" for f in (
    "zone", "alarm_minutes", "sequence", "modified_at")})

# Whole tables added after the first schema, and the migration that creates them.
TABLE_ADDED_BY: dict[str, str] = {"key_grants": "m004_key_grants"}
TABLE_ADDED_BY.update({"timer_events": "m005_shared_checkin",
                       "text_updates": "m005_shared_checkin"})

# Tables that no operation may ever name: they never leave the device.
LOCAL_TABLES = (
    "local_meta",
    "local_keys",
    "local_secrets",
    "settings",
    "private_notes",
    "talking_point_drafts",
    "sync_cursors",
    "quarantine",
    "forks",
    "digest_marks",
)

# The columns of every table that is not a projection, as the migrations make them: opening
# checks that a journal has every column the code reads (with the projections' columns from
# TABLES), because a damaged schema text can rename one and still parse (a test keeps this
# in step with a fresh journal).
_BASE_COLUMNS = {
    "local_meta": "key value",
    "local_keys": "device_id sign_secret box_secret sealed salt opslimit memlimit box",
    "local_secrets": "name value",
    "settings": "key value",
    "private_notes": "id text about_table about_id session created_at updated_at deleted",
    "talking_point_drafts": "id text created_at deleted",
    "sync_cursors": "peer channel value",
    "ops": "replica seq hlc tbl row_id body sig",
    "quarantine": "replica seq hlc tbl row_id body sig received_at",
    "forks": "replica seq hlc tbl row_id body sig received_at reissued",
    "replica_state": "replica contig max_seq",
    "field_clocks": "tbl row_id field hlc replica",  # empty since m009, for 0.2 readers
    "text_heads": "tbl row_id field stamp value",
    "text_bases": "tbl row_id field stamp",
    "text_state": "tbl row_id field state",
    "text_conflicts": "tbl row_id field",  # the texts with more than one head (m008)
    "digest_marks": "replica seq forks held_back digest",  # where digests stood (m008)
    "search_docs": "docid tbl row_id",
    "search_fts": "body",
}


def expected_columns() -> dict[str, set[str]]:
    """Every table of an up-to-date journal and the columns the code relies on."""
    out = {table: set(cols.split()) for table, cols in _BASE_COLUMNS.items()}
    for table, fields in TABLES.items():
        out[table] = {"id", "deleted", "hlc_created", "hlc_updated", "_clocks", *fields}
    return out


def searchable_fields(table: str) -> list[str]:
    """The fields of a table that the full-text index covers."""
    return [name for name, f in TABLES[table].items() if f.search]


def long_text_fields(table: str) -> set[str]:
    """The fields whose concurrent edits are kept as conflicts rather than dropped."""
    return {name for name, f in TABLES[table].items() if f.kind == "text"}
