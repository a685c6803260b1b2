"""What every command line of the package shares (kept free of heavy imports such as JAX)."""

import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse, but bad input gets one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")
