"""syncd: keep Istio ServiceEntries equal to what service registries say.

Layers, one way: adapters → model → render → plan → targets; the engine joins them.
"""

__version__ = "0.1.0"
