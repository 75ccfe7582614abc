"""Store-and-forward sync: sealed envelopes, the stream, relay client and folder."""
