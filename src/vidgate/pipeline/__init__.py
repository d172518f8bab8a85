"""Turning a queued job into a stored video: submit -> poll -> store, and chained long videos.

Modules: ``context`` (what every step works with), ``steps`` (one job's submit -> poll -> store),
``runner`` (the step runner both queues take), ``cancelling`` (a task deleted upstream, its cost
recorded), ``chain`` (chained segments joined into one video), ``outputs`` (storing a finished
video), ``worker`` (the claim/heartbeat/wake loop of one process), ``polling`` (when to ask the
provider next).
"""
