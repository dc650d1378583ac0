"""Thin wrappers over kernel primitives. Only code in this package touches the kernel directly."""
