"""Loopback fakes and helpers shared by the tests and the benches (not part of the installed package)."""
