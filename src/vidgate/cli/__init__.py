"""The ``vidgate`` command line: ``app`` (the Typer application and its process commands),
``jobs`` (generate, jobs, estimate: the commands that talk to a server)."""
