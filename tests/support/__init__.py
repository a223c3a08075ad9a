"""Readers the tests share."""
