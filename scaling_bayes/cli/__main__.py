"""``python -m scaling_bayes.cli``: the ``scaling-bayes`` command."""

import sys

from scaling_bayes.cli.main import main

sys.exit(main())
