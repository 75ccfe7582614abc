"""The relay server: the WebSocket front (server), one connection (connection), the pairing
rendezvous (rendezvous), its store (store) and its wire format (wire)."""
