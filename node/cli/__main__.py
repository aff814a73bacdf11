"""``python -m node.cli``: the same as the ``tredegar`` command."""

import sys

from node.cli import main

sys.exit(main())
