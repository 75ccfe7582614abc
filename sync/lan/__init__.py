"""Live sync on the local network: sessions, the engine and zeroconf discovery."""
