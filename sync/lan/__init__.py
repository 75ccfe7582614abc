"""Live sync on the local network: one session (session), the engine that keeps sessions
with every partner device (engine), zeroconf advertising and browsing (discovery), which
program on this machine advertises a device (claim), and the engine's watch on its journal
file (replaced)."""
