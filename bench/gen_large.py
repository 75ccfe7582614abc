"""A large journal for the startup benchmark: five years of a partnership, 100,000 operations.

Written through the model's public write path (`Journal.write` with validated fields, in
batches so generation takes a minute, not an hour), with a clock that walks through five
years. The partner is a second journal with its own device keys; its half of the operations
reaches the main journal through `apply_remote`, as in the demo. The result is cached in
the temp dir, keyed by the parameters, so later runs reuse it.

    python bench/gen_large.py [--ops 100000] [--years 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["large_journal"]

BATCH = 400


class _Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t


def _changes(j: Any, rng: random.Random, n: int, state: dict[str, list[str]],
             person: str, day: dt.date) -> list[tuple[str, str, dict[str, Any]]]:
    """`n` plausible edits by `person`: mostly new items, some status changes."""
    from comentor.model._ops import new_row_id, validate_fields

    out = []
    stamp = j.now_iso()
    for _ in range(n):
        roll = rng.random()
        row = new_row_id(now=j.now().timestamp())  # made when the walking clock says
        if roll < 0.02 or not state["goals"]:
            table, fields = "goals", {"person": person, "text": f"Goal {rng.randrange(10**6)}",
                                      "horizon": rng.choice(["near", "long"]), "status": "open",
                                      "created_at": stamp}
            state["goals"].append(row)
        elif roll < 0.30 and state["goals"]:
            table, fields = "updates", {"goal": rng.choice(state["goals"][-40:]), "person": person,
                                        "text": "Progress " + "x" * rng.randrange(10, 120),
                                        "progress": rng.randrange(101), "created_at": stamp}
            if rng.random() < 0.2 and state["closed_goals"]:  # updates of older goals too
                fields["goal"] = rng.choice(state["closed_goals"][-200:])
        elif roll < 0.45:
            table, fields = "commitments", {"person": person, "text": f"Do thing {rng.randrange(10**6)}",
                                            "status": "open", "due": (day + dt.timedelta(days=21)).isoformat(),
                                            "follow_up": "How did it go?", "created_at": stamp}
            state["commitments"].append(row)
        elif roll < 0.60 and state["commitments"]:
            table, row = "commitments", state["commitments"].pop(rng.randrange(len(state["commitments"])))
            fields = {"status": rng.choice(["done", "done", "dropped"]), "closed_at": stamp,
                      "result": "It went fine."}
        elif roll < 0.68:
            table, fields = "asks", {"person": person, "kind": "question", "text": "Could you help?",
                                     "outcome": "a concrete answer by Friday", "status": "open",
                                     "created_at": stamp}
            state["asks"].append(row)
        elif roll < 0.74 and state["asks"]:
            table, row = "asks", state["asks"].pop(rng.randrange(len(state["asks"])))
            fields = {"status": "answered", "answer": "Here is what I think " + "y" * 60,
                      "answered_at": stamp}
        elif roll < 0.82:
            table, fields = "wins", {"person": person, "text": f"Win {rng.randrange(10**6)}",
                                     "date": day.isoformat(), "created_at": stamp}
        elif roll < 0.92:
            table, fields = "notes", {"person": person, "text": "Note " + "z" * rng.randrange(20, 300),
                                      "created_at": stamp}
        else:
            table, fields = "talking_points", {"person": person, "text": "Point to discuss",
                                               "status": "covered", "created_at": stamp,
                                               "shared_at": stamp}
        out.append((table, row, validate_fields(table, row, fields)))
    # keep the open lists realistic: a partnership has a handful of open items, not thousands
    for key, keep, status in (("commitments", 6, "done"), ("asks", 4, "closed"),
                              ("goals", 8, "met")):
        while len(state[key]) > keep:
            old = state[key].pop(0)
            if key == "goals":
                state["closed_goals"].append(old)
            fields = {"status": status, "closed_at": stamp} if key != "asks" else {"status": status}
            out.append((key, old, validate_fields(key, old, fields)))
    return out


def build(path: Path, ops: int, years: int, seed: int = 11) -> Path:
    from comentor.model import testing
    from comentor.model._journal import Journal
    from comentor.model._store import version_vector

    rng = random.Random(seed)
    today = dt.date.today()
    start = dt.datetime.combine(today - dt.timedelta(days=365 * years), dt.time(9)).astimezone()
    clock = _Clock(start)
    tmp = Path(tempfile.mkdtemp())
    a = Journal.create(path, "Alex Large", now=clock, device_name="bench laptop")
    b = Journal.create(tmp / "b.db", "Blake Large", joining=True, now=clock, device_name="bench b")
    testing.pair_in_process(a, b)
    testing.sync_in_process(a, b, batch=2000)
    a.put("schedule", "cadence", every_days=21, at="12:00", minutes=30,
          start=start.date().isoformat())
    states: dict[int, dict[str, list[str]]] = {
        id(x): {"goals": [], "closed_goals": [], "commitments": [], "asks": []} for x in (a, b)}
    total_days = 365 * years
    step = dt.timedelta(days=total_days) / max(1, ops // BATCH)
    done = 0
    rounds = 0
    while done < ops:
        j = a if rounds % 2 == 0 else b
        clock.t += step
        changes = _changes(j, rng, min(BATCH, ops - done), states[id(j)], j.me, clock.t.date())
        j.write(changes)
        done += len(changes)
        rounds += 1
        if rounds % 10 == 0:
            testing.sync_in_process(a, b, batch=2000)
        if rounds % 8 == 0:  # a check-in every few batches
            sid = a.put("sessions", None, status="done", started_at=a.now_iso(),
                        ended_at=a.now_iso(), planned_at=a.now_iso(), minutes=30, created_at=a.now_iso(),
                        next_at=(clock.t + dt.timedelta(days=21)).isoformat())
            done += 1
            del sid
    testing.sync_in_process(a, b, batch=2000)
    count = sum(version_vector(a.conn).values())
    a.close()
    b.close()
    print(f"generated {count} operations over {years} years at {path}")
    return path


def _schema_key() -> str:
    """A digest of the code that shapes the file (schema and migrations), so that a cached
    journal made by other code is never reused: the day alone did not tell (a migration
    changed within a day once, and the cached file was refused as damaged)."""
    import hashlib

    import comentor.model

    model = Path(comentor.model.__file__).parent
    digest = hashlib.blake2b(digest_size=4)
    for name in ("_schema.py", "_migrations.py"):
        digest.update((model / name).read_bytes())
    return digest.hexdigest()


def large_journal(ops: int = 100_000, years: int = 5, *, cache: Path | None = None) -> Path:
    """The cached large journal (built on first use)."""
    cache = cache or Path(tempfile.gettempdir()) / "comentor-bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"large-v3-{_schema_key()}-{ops}-{years}y-{dt.date.today().isoformat()}.db"
    if not path.exists():
        os.environ.setdefault("COMENTOR_STATE_DIR", str(cache / "state"))
        partial = path.with_suffix(".partial.db")
        for p in (partial, Path(str(partial) + "-wal"), Path(str(partial) + "-shm")):
            p.unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(partial, ops, years)
        partial.rename(path)
        print(f"(built in {time.perf_counter() - t0:.1f}s)")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    print(large_journal(args.ops, args.years))
