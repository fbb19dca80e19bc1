"""Hostile input: generators of malformed and hostile files, shared by the
tests that feed them to the commands and to the Nova weigher."""
