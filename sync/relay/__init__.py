"""The relay server: WebSocket front, connections, its store and wire format."""
