"""``python -m saliency_widgets``: the command line (:mod:`saliency_widgets.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
