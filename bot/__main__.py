"""`python -m bot` is `guidance-bot`."""

from bot.cli import main

raise SystemExit(main())
