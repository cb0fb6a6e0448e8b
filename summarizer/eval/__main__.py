"""``python -m summarizer.eval``: see :func:`summarizer.eval.main`."""

import sys

from summarizer.eval import main

if __name__ == "__main__":
    sys.exit(main())
