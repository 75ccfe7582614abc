"""The relay server: the WebSocket front (server), one connection (connection), mailbox
operations (mailboxes), the pairing rendezvous (rendezvous), its stores (backend: SQLite in
store, PostgreSQL in pgstore), its wire format (wire), operator settings (settings), HTTP
endpoints (http) and metrics and logs (observe). Running one: docs/relay.md."""
