"""Checks custom-domain TXT challenges."""
