"""The guidance bot, in four layers read top to bottom as the data flows.

``content`` (YAML to typed records) -> ``matching`` (text to a match) ->
``dialogue`` (the pure ``handle(state, event) -> Outcome``) -> ``channels``
(terminal, Telegram). A layer imports only from the layers above it;
``tests/test_layers.py`` checks it.
"""
