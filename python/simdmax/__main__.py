"""python3 -m simdmax: the tolerance report (simdmax.tolerance)."""
import sys

from .tolerance import main

sys.exit(main())
