"""Built-in registry adapters. Each module knows one registry and returns syncd.model values.

Layer rule: adapters import syncd.model and syncd.adapter only, never render, plan or targets.
"""
