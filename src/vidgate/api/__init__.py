"""The HTTP API: ``app`` (the FastAPI application), ``routes/``, ``deps``, ``auth``, and the one
error renderer (``errors``). Nothing is imported here: ``vidgate.api.schemas`` (the response
models, which the client also uses) must not load FastAPI.
"""
