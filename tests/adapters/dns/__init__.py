"""Tests of the dns_srv adapter against a real BIND9 server (tests/servers/bind.py)."""
