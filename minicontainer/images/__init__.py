"""Image store: the built-in busybox image, imported rootfs tarballs."""
