"""`cp`: copying between the host and a container, every container path resolved inside the container."""
