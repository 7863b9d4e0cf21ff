"""`python -m looker_assets.emulator --port 8123 --scale 10000 --latency-ms 20`"""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
