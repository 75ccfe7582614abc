"""Pairing: spoken codes, the SPAKE2 protocol and the invite/join flow."""
