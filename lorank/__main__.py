import sys

from lorank.cli import main

sys.exit(main())
