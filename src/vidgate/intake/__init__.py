"""Creating a generation: the checks every API surface runs before a job exists.

Modules: ``media_policy`` (which media URIs a request may name, and their bytes), ``chain``
(a long video's request, planned into segments).
"""
