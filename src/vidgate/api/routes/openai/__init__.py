"""OpenAI's Videos API shape at ``/openai/v1`` (docs/dropin.md): what LiteLLM, Bifrost and other
gateways serve and the ``openai`` SDKs speak, answered by vidgate's jobs.

``create_body`` (the create, form or JSON, mapped to a Runway body), ``videos`` (the routes),
``errors`` (OpenAI's error shape).
"""

from vidgate.api.routes.openai.videos import router

__all__ = ["router"]
