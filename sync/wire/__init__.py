"""The wire of live sessions: length-prefixed frames (framing), the strict msgpack codec
(codec), Noise (noise) and the encrypted channel over it (channel), and the LAN change-set
messages (changeset)."""
