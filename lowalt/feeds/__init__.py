"""Real device feeds into the one report path: MAVLink 2 (signed) gateways, ADS-B receivers, network
Remote ID. Decoders are pure (bytes -> report dicts); :mod:`lowalt.feeds.endpoints` is the network shell.
See docs/feeds.md."""
