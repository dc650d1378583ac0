"""On-disk state under one root: containers, images, locks."""
