"""The naive integration vidgate is compared with: one FastAPI route around the sync SDK.

``POST /api/generate-video`` creates a task with the official ``runwayml`` client and returns
once ``wait_for_task_output()`` does, as an integration guide's first example would write it: an
``async def`` route calling the synchronous client, so the event loop is blocked while it waits
and concurrent requests are served one after another. The client reads ``RUNWAYML_API_SECRET``
and ``RUNWAYML_BASE_URL`` itself.

``python -m bench.seed_route PORT`` serves it on 127.0.0.1 (used by :mod:`bench.first_hour`).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from runwayml import RunwayML

__all__ = ["app"]

app = FastAPI()
client = RunwayML()


class VideoRequest(BaseModel):
    prompt: str
    model: str = "gen4.5"
    duration: int = 5


@app.post("/api/generate-video")
async def generate_video(req: VideoRequest) -> dict[str, str]:
    try:
        task = client.text_to_video.create(
            model=req.model,  # type: ignore[arg-type]
            prompt_text=req.prompt,
            ratio="1280:720",
            duration=req.duration,
        ).wait_for_task_output()
        assert task.output
        return {"video_url": task.output[0]}
    except Exception as e:
        raise HTTPException(status_code=500, detail=str(e)) from e


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
