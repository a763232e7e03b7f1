"""One module per subcommand, each with ``run(args) -> int``: it calls the library and returns
the exit code (hubguard.errors). ``hubguard.cli`` only builds the parser and dispatches here;
``common`` holds what several commands share (scan options, suppressions, the report's way
out, the exit code)."""
