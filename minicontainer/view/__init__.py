"""Views: the runtime's records as Docker shows them (inspect JSON), for the CLI and the Python API."""
