"""Channels: the terminal and Telegram. They decide how a reply is shown, never what it says."""
