"""`python -m kerasgen.cli ...` runs the `kerasgen` command."""

import sys

from kerasgen.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
