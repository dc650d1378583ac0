"""Talking to image registries: the distribution (registry HTTP API v2) protocol, token auth, platforms."""
