import sys

from interchange.cli.main import main

sys.exit(main())
