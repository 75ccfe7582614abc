"""Live sync on the local network: one session (session), the engine that keeps sessions
with every partner device (engine), and zeroconf advertising and browsing (discovery)."""
