"""Pairing, handshake, wire format, encryption, transports and the relay."""
