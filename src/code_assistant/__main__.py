"""`python -m code_assistant` runs the `ca` command."""

import sys

from code_assistant.entry import main

sys.exit(main())
