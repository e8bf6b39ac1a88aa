"""``python -m haven`` runs the CLI."""

from haven.cli import run

if __name__ == "__main__":  # worker processes (spawn) import this module too
    run()
