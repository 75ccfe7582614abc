"""The journal: schema, identity, operations, clocks, merge and queries."""
