"""lowalt.geo: coordinate frames, altitude references, terrain and GCJ-02.

Stateless helpers only (transformers and the default terrain are cached lazily,
nothing is built at import time).
"""
