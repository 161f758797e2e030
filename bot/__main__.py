"""``python -m bot`` runs the same CLI as the ``kaohe`` command."""

import sys

from bot.cli.main import main

sys.exit(main())
