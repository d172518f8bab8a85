"""Who may do what and for how much: API keys, budgets, spend, and uploaded media.

Modules: ``tables`` (api_keys, uploads, budgets), ``keys`` (hashed tokens, a short read cache),
``budgets`` (limits and reservations), ``spend`` (credits by owner and period), ``uploads``
(streamed, sniffed, probed media files).
"""
