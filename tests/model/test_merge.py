"""Merge rules: last writer wins per field, conflicts kept for long text, tombstones, trust."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from comentor.model import _conflicts
from comentor.model import _devices as devices
from comentor.model import _quarantine as quarantine
from comentor.model import _remote as remote
from comentor.model._journal import Journal
from comentor.model._ops import Operation, decode_op, encode_op
from comentor.model._projection import digest, rebuild
from comentor.model._store import iter_stored_ops, ops_since, version_vector
from comentor.model.errors import (
    InvalidOperationError,
    MassDeletionError,
    UntrustedOperationError,
    ValidationError,
)
from comentor.model.testing import FixedClock as Clock

from .helpers import paired, sync_pair


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Journal, Journal]:
    a, b = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(a, b)
    return a, b


def test_last_writer_wins_per_field(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = a.put("goals", None, text="Write", status="open")
    sync_pair(a, b)
    a.put("goals", goal, text="Write a book")
    b.put("goals", goal, status="met")
    sync_pair(a, b)
    for j in (a, b):
        rec = j.get("goals", goal)
        assert rec is not None
        assert rec["text"] == "Write a book" and rec["status"] == "met"
    assert digest(a.conn) == digest(b.conn)


def test_concurrent_long_text_edits_keep_the_loser_as_conflict(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = a.put("goals", None, text="Book", detail="first draft")
    sync_pair(a, b)
    a.put("goals", goal, detail="Ada's version")
    b.put("goals", goal, detail="Ben's version")
    sync_pair(a, b)
    found_a, found_b = _conflicts.conflicts(a), _conflicts.conflicts(b)
    assert len(found_a) == 1 and found_a == found_b
    both = {found_a[0].winner, *found_a[0].others}
    assert both == {"Ada's version", "Ben's version"}
    # resolving supersedes both versions, everywhere
    a.resolve_conflict("goals", goal, "detail", "Ada's and Ben's version")
    sync_pair(a, b)
    assert _conflicts.conflicts(a) == [] and _conflicts.conflicts(b) == []
    assert (b.get("goals", goal) or {})["detail"] == "Ada's and Ben's version"


def test_sequential_edits_raise_no_conflict(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = a.put("goals", None, text="Book", detail="one")
    sync_pair(a, b)
    b.put("goals", goal, detail="two")
    sync_pair(a, b)
    a.put("goals", goal, detail="three")
    sync_pair(a, b)
    assert _conflicts.conflicts(a) == [] and _conflicts.conflicts(b) == []


def test_delete_is_a_tombstone_that_can_be_undone(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    win = a.put("wins", None, text="Shipped", date="2026-03-01")
    sync_pair(a, b)
    b.delete("wins", win)
    sync_pair(a, b)
    assert a.get("wins", win) is None and a.get("wins", win, include_deleted=True) is not None
    a.undelete("wins", win)
    sync_pair(a, b)
    assert (b.get("wins", win) or {})["text"] == "Shipped"


def test_applying_twice_or_rebuilding_changes_nothing(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    for i in range(5):
        a.put("commitments", None, text=f"c{i}", status="open")
    sync_pair(a, b)
    before = digest(b.conn)
    res = remote.apply_remote(b, list(iter_stored_ops(a.conn)))
    assert res.applied == 0 and res.duplicates > 0
    assert digest(b.conn) == before
    with b.transaction():
        rebuild(b.conn)
    assert digest(b.conn) == before


def test_unpaired_device_is_refused(tmp_path: Path, pair: tuple[Journal, Journal]) -> None:
    a, _b = pair
    stranger = Journal.create(tmp_path / "s.db", "Eve", now=Clock())
    goal = stranger.put("goals", None, text="sneaky")
    ops = [op for op in iter_stored_ops(stranger.conn) if op.row == goal]
    before = digest(a.conn)
    with pytest.raises(UntrustedOperationError, match="not paired"):
        remote.apply_remote(a, ops)
    assert digest(a.conn) == before


def test_operation_naming_another_author_is_refused(tmp_path: Path, pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = b.put("goals", None, text="mine")
    op = [o for o in iter_stored_ops(b.conn) if o.row == goal][0]
    # claim a's replica but keep b's signature: the signature no longer matches the author
    forged = Operation(a.replica.split(".")[0] + ".7", op.seq, op.hlc, op.table, op.row,
                       op.fields, op.bases, op.sig)
    with pytest.raises(UntrustedOperationError, match="signature"):
        remote.apply_remote(a, [forged])
    assert a.get("goals", goal) is None


def test_tampered_field_fails_signature(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = b.put("goals", None, text="honest")
    op = [o for o in iter_stored_ops(b.conn) if o.row == goal][0]
    evil = Operation(op.replica, op.seq, op.hlc, op.table, op.row, {"text": "evil"}, op.bases, op.sig)
    with pytest.raises(UntrustedOperationError):
        remote.apply_remote(a, [evil])


def test_revoked_device_is_refused(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    devices.revoke_device(a, b.device_id)
    goal = b.put("goals", None, text="after revocation")
    ops = [o for o in iter_stored_ops(b.conn) if o.row == goal]
    res = remote.apply_remote(a, ops)
    assert res.refused == 1 and res.applied == 0
    assert a.get("goals", goal) is None


def test_revocation_keeps_what_the_device_made_before_and_sync_flowing(tmp_path: Path) -> None:
    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True, person=ada.me, now=Clock())
    devices.set_partnership_key(laptop, ada.partnership_key() or b"")
    devices.trust_device(laptop, devices.my_device_info(ada))
    devices.trust_device(ada, devices.my_device_info(laptop))
    laptop.put("goals", None, text="written on the laptop before it was stolen")
    sync_pair(ada, laptop)
    devices.revoke_device(ada, laptop.device_id)
    ada.put("goals", None, text="after the revocation")
    sync_pair(ada, ben)  # Ben learns of the laptop and its revocation in the same sync
    texts = sorted(g["text"] for g in ben.rows("goals"))
    assert texts == ["after the revocation", "written on the laptop before it was stolen"]
    laptop.put("goals", None, text="the thief writes")
    res = remote.apply_remote(ben, ops_since(laptop.conn, version_vector(ben.conn)))
    assert res.refused >= 1
    assert "the thief writes" not in {g["text"] for g in ben.rows("goals")}
    assert digest(ada.conn)["goals"] == digest(ben.conn)["goals"]


def test_device_records_cannot_be_rewritten_or_deleted(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    with pytest.raises(ValidationError, match="revoke"):
        a.delete("devices", b.device_id)
    for fields in ({"box_pk": b"\x01" * 32}, {"person": "someoneelse"}, {"deleted": True}):
        b.write([("devices", a.device_id, fields)])  # type: ignore[list-item]
        forged = list(ops_since(b.conn, version_vector(a.conn)))
        with pytest.raises(InvalidOperationError):
            remote.apply_remote(a, forged)
        b.close()
        b = Journal.open(b.path, now=Clock())
        with b.transaction():
            b.conn.execute("DELETE FROM ops WHERE rowid = (SELECT max(rowid) FROM ops)")
            b.conn.execute("DELETE FROM replica_state")
            for r, sq in b.conn.execute("SELECT replica, max(seq) FROM ops GROUP BY replica").fetchall():
                b.conn.execute("INSERT INTO replica_state VALUES (?, ?, ?)", (r, sq, sq))
    assert (a.get("devices", a.device_id) or {})["box_pk"] == a.keys.box_public


def test_a_held_back_operation_is_released_by_a_later_sync(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    b._now.t += dt.timedelta(hours=2)  # type: ignore[attr-defined]
    goal = b.put("goals", None, text="later")
    remote.apply_remote(a, ops_since(b.conn, version_vector(a.conn)))
    assert a.get("goals", goal) is None
    a._now.t += dt.timedelta(hours=2)  # type: ignore[attr-defined]
    remote.apply_remote(a, [])
    assert (a.get("goals", goal) or {})["text"] == "later"


def test_a_batch_is_all_or_nothing(tmp_path: Path, pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    good = b.put("goals", None, text="good")
    stranger = Journal.create(tmp_path / "s.db", "Eve", now=Clock())
    stranger.put("goals", None, text="bad")
    batch = [o for o in iter_stored_ops(b.conn) if o.row == good]
    batch += [o for o in iter_stored_ops(stranger.conn) if o.table == "goals"]
    with pytest.raises(UntrustedOperationError):
        remote.apply_remote(a, batch)
    assert a.get("goals", good) is None


def test_reused_sequence_number_with_other_contents_is_kept_as_a_fork(
        pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    goal = b.put("goals", None, text="original")
    sync_pair(a, b)
    op = [o for o in iter_stored_ops(b.conn) if o.row == goal][0]
    twin = Operation(op.replica, op.seq, op.hlc + 1, op.table, op.row, {"text": "restored"})
    twin = Operation(twin.replica, twin.seq, twin.hlc, twin.table, twin.row, twin.fields, {},
                     b.keys.sign(twin.signed_bytes()))
    result = remote.apply_remote(a, [twin])
    assert result.forks == 1 and result.forked == {op.replica} and result.rebuilt
    kept = a.conn.execute("SELECT sig FROM forks WHERE replica = ? AND seq = ?",
                          (op.replica, op.seq)).fetchall()
    assert {bytes(r[0]) for r in kept} == {op.sig, twin.sig}  # both kept, neither applied
    assert a.get("goals", goal) is None  # until Ben's device re-issues them (model/_forks.py)
    assert remote.apply_remote(a, [twin]).duplicates == 1  # a kept fork is known
    sync_pair(a, b)  # Ben's device learns of the fork and re-issues both versions
    assert {g["text"] for g in a.rows("goals")} <= {"original", "restored"}
    assert a.get("goals", goal) is not None
    assert digest(a.conn) == digest(b.conn)


def test_mass_deletion_asks_first(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    ids = [a.put("wins", None, text=f"w{i}") for i in range(30)]
    sync_pair(a, b)
    b.write([("wins", i, {"deleted": True}) for i in ids])
    batch = ops_since(b.conn, version_vector(a.conn))
    with pytest.raises(MassDeletionError, match="confirm"):
        remote.apply_remote(a, batch)
    assert len(a.rows("wins")) == 30
    remote.apply_remote(a, batch, allow_mass_delete=True)
    assert a.rows("wins") == []


def test_future_operations_are_quarantined_and_releasable(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    b._now.t += dt.timedelta(hours=3)  # type: ignore[attr-defined]
    goal = b.put("goals", None, text="from the future")
    b._now.t -= dt.timedelta(hours=3)  # type: ignore[attr-defined]
    res = remote.apply_remote(a, ops_since(b.conn, version_vector(a.conn)))
    assert res.quarantined == 1 and a.get("goals", goal) is None
    held = quarantine.quarantined(a)
    assert [o.row for o in held] == [goal]
    # held ops count as received: the peer does not resend them
    assert version_vector(a.conn)[b.replica] == version_vector(b.conn)[b.replica]
    # a local edit is not beaten by the far-future clock while it is held back
    quarantine.release(a, held[0].replica, held[0].seq)
    assert (a.get("goals", goal) or {})["text"] == "from the future"
    assert quarantine.quarantined(a) == []


def test_quarantine_releases_itself_when_time_catches_up(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    b._now.t += dt.timedelta(hours=2)  # type: ignore[attr-defined]
    b.put("goals", None, text="later")
    remote.apply_remote(a, ops_since(b.conn, version_vector(a.conn)))
    assert quarantine.release_due(a) == 0
    a._now.t += dt.timedelta(hours=2)  # type: ignore[attr-defined]
    assert quarantine.release_due(a) == 1


def test_restored_journal_moves_to_a_new_epoch(tmp_path: Path) -> None:
    j = Journal.create(tmp_path / "a.db", "Ada", now=Clock())
    j.put("goals", None, text="before backup")
    j.close()
    backup = tmp_path / "backup.db"
    backup.write_bytes((tmp_path / "a.db").read_bytes())
    j = Journal.open(tmp_path / "a.db", now=Clock())
    j.put("goals", None, text="after backup")
    first_replica = j.replica
    j.close()
    # restore the backup over the journal: its token no longer matches the state file
    (tmp_path / "a.db").write_bytes(backup.read_bytes())
    j = Journal.open(tmp_path / "a.db", now=Clock())
    j.put("goals", None, text="after restore")
    assert j.replica != first_replica
    seqs = [(o.replica, o.seq) for o in iter_stored_ops(j.conn)]
    assert len(seqs) == len(set(seqs))


def test_local_only_tables_never_become_operations(journal: Journal) -> None:
    journal.add_private_note("secret thought")
    journal.add_draft("a draft point")
    journal.set_setting("theme", "nord")
    assert all(op.table not in ("private_notes", "talking_point_drafts", "settings")
               for op in iter_stored_ops(journal.conn))
    with pytest.raises(ValidationError):
        journal.put("private_notes", None, text="x")  # type: ignore[arg-type]


def test_wire_form_round_trips_and_is_strict(pair: tuple[Journal, Journal]) -> None:
    a, _ = pair
    a.put("goals", None, text="ü ✓", detail="x" * 100)
    for op in iter_stored_ops(a.conn):
        assert decode_op(encode_op(op)) == op
    for bad in (b"", b"\x93\x01\x02\x03", b"\xff" * 10, encode_op(op)[:-1]):
        with pytest.raises(InvalidOperationError):
            decode_op(bad)


def test_a_new_device_is_introduced_before_its_operations(tmp_path: Path) -> None:
    # Ada pairs her second device with Ben's knowledge only through Ada's first device
    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    ada2 = Journal.create(tmp_path / "ada2.db", "Ada", joining=True, person=ada.me, now=Clock())
    devices.set_partnership_key(ada2, ada.partnership_key() or b"")
    devices.trust_device(ada2, devices.my_device_info(ada))
    devices.trust_device(ada, devices.my_device_info(ada2))
    ada2.put("goals", None, text="from the second device")
    sync_pair(ada, ada2)
    # whatever the replica order, the device record comes first, so Ben trusts ada2 in time
    batch = ops_since(ada.conn, version_vector(ben.conn), limit=3)
    assert batch[0].table == "devices"
    sync_pair(ada, ben)
    assert [g["text"] for g in ben.rows("goals")] == ["from the second device"]


def test_a_change_too_large_to_share_is_refused(journal: Journal) -> None:
    with pytest.raises(ValidationError, match="too large"):
        journal.put("baselines", None, situation="é" * 90_000, clients="é" * 90_000)
    assert journal.rows("baselines") == []


def test_a_backup_taken_while_writing_is_detected_on_restore(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    ada.put("goals", None, text="g1")
    backup = sqlite3.connect(tmp_path / "backup.db")
    ada.conn.backup(backup)  # copied while the app runs: same process, same session
    backup.close()
    ada.put("goals", None, text="g2 after the backup")
    sync_pair(ada, ben)
    ada.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp_path / "j0.db") + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.db", tmp_path / "j0.db")
    ada = Journal.open(tmp_path / "j0.db", now=Clock())
    ada.put("goals", None, text="g3 after the restore")
    sync_pair(ada, ben)
    want = ["g1", "g2 after the backup", "g3 after the restore"]
    assert sorted(g["text"] for g in ada.rows("goals")) == want
    assert sorted(g["text"] for g in ben.rows("goals")) == want


def test_a_failed_first_write_does_not_switch_off_restore_detection(tmp_path: Path) -> None:
    import shutil

    j = Journal.create(tmp_path / "a.db", "Ada", now=Clock())
    j.put("goals", None, text="one")
    j.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "backup.db")
    j = Journal.open(tmp_path / "a.db", now=Clock())
    j.put("goals", None, text="two")
    j.close()
    shutil.copy(tmp_path / "backup.db", tmp_path / "a.db")
    j = Journal.open(tmp_path / "a.db", now=Clock())
    with pytest.raises(ValidationError, match="too large"):
        j.put("baselines", None, situation="é" * 90_000, clients="é" * 90_000)
    j.put("goals", None, text="three")
    keys = [(o.replica, o.seq) for o in iter_stored_ops(j.conn) if o.table == "goals"]
    assert keys[-1][0] != keys[0][0]  # a new epoch: (replica, seq) of "two" is never reused
