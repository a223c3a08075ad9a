"""The ``robot-rl`` command line: one entry point, one module per subcommand."""
