"""``python -m vecae.cli``: the same as the ``vecae`` script."""

from vecae.cli import main

main()
