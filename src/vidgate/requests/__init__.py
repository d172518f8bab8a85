"""Raw input -> a validated request, every problem named (``generation``); a long video's plan
into segments (``chain_plan``); the price of a whole body (``pricing``)."""
