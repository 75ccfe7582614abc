"""Store-and-forward sync: sealed envelopes (envelope), the per-device envelope stream
(stream), the relay's client (relay_client) and its rounds (relay_sync), and shared folders
(folder). Every key, tag and mailbox id comes from :mod:`comentor.sync.keys`."""
