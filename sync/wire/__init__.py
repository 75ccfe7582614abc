"""The wire: frame codec, msgpack, the Noise channel and LAN change-set messages."""
