"""Turning a queued job into a stored video: submit -> poll -> store, and chained long videos.

Modules: ``worker`` (the pipeline steps and the worker loop), ``chain`` (chained segments joined
into one video), ``polling`` (when to ask the provider next).
"""
