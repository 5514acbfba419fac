"""The Telegram channel: the application, its handlers, HTML and the chat store."""
