"""Pure parsing and validation of user input. No I/O, no kernel: testable without root."""
