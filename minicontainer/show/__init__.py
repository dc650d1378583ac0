"""Showing the work: the trace as a shell script, the topology as text and SVG, annotated rules, the tour."""
