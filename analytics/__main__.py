"""`python -m analytics …`: the command groups live in analytics/cli/."""
import sys

from analytics.cli import main

if __name__ == "__main__":
    sys.exit(main())
