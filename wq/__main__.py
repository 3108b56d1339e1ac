import sys

from wq.cli import main

sys.exit(main())
