"""The conversation, independent of any chat platform.

The bot calls `handle(conversation, event, kraken)` and gets back the next `Conversation`
(to persist), the `Screen`s to show and the `Effect`s to carry out. Nothing here imports
Telegram, Redis or an HTTP server; Kraken is reached through `KrakenPort`.
"""
