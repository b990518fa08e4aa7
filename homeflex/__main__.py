import sys

from homeflex.cli import main

sys.exit(main())
