"""``python -m bot.stories.eval``: see :func:`bot.stories.eval.main`."""

import sys

from bot.stories.eval._cli import main

if __name__ == "__main__":
    sys.exit(main())
