"""Pairing: spoken codes (codes), the messages and their strict decoding (messages), the
SPAKE2 protocol (protocol) and the invite/join flow with a journal (flow)."""
