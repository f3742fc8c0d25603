"""Benchmarks and the contact-center simulator (not part of the installed product)."""
