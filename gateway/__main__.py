"""`python -m gateway` is `edigw`."""

from gateway.cli import main

main()
