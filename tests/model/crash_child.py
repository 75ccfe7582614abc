"""Child process for the crash test: applies a peer's operations in batches until done.

Run as: python crash_child.py SOURCE TARGET. The parent kills it with SIGKILL at a random
moment; each batch and its cursor are committed in one transaction.
"""

from __future__ import annotations

import json
import sys

from comentor.model._journal import Journal
from comentor.model._remote import apply_remote
from comentor.model._store import ops_since, version_vector


def main() -> int:
    source = Journal.open(sys.argv[1])
    target = Journal.open(sys.argv[2])
    while True:
        batch = ops_since(source.conn, version_vector(target.conn), limit=300)
        if not batch:
            return 0
        vector = version_vector(target.conn)
        for op in batch:
            vector[op.replica] = max(vector.get(op.replica, 0), op.seq)
        apply_remote(target, batch, cursors=[("source", "vector", json.dumps(vector))],
                     allow_mass_delete=True)


if __name__ == "__main__":
    sys.exit(main())
