"""Raw input -> a validated request, every problem named; a long video's plan into segments.

Modules: ``generation`` (``validate_request``, the entry point), ``types`` (``GenerationRequest``,
``MediaInput``), ``fields`` (one check per field type), ``rules`` (the cross-field rules named in
the catalog), ``wording`` (how problems are phrased), ``chain_plan`` (a long video's chain of
requests), ``segments`` (its segment lengths), ``pricing`` (the price of a whole body).
"""
