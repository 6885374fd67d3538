"""python -m bench [--small] [--db sqlite]: see bench/run.py."""
from bench.run import main

main()
