// Server-Sent Events (GET /v1/events), read with fetch so that an API key can be sent, and
// resumed with Last-Event-ID after a dropped connection.
import { auth } from "./api.js";

function parseData(lines) {
  try {
    return JSON.parse(lines.join("\n"));
  } catch (_) {
    return {};
  }
}

// Calls onEvent(name, data) per event and onLive(true|false) as the stream comes and goes.
export async function streamEvents(path, { signal, onEvent, onLive, onReady }) {
  let lastEventId = null;
  let retry = 2000;
  while (!signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream", ...auth.headers() };
      if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch(path, { headers, signal, cache: "no-store" });
      if (response.status === 401) {
        auth.onRefused();
        return;
      }
      if (response.status === 204) return;
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onLive(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let event = { id: null, name: "message", data: [] };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          if (line === "") {
            if (event.id !== null) lastEventId = event.id;
            if (event.data.length) {
              if (event.name === "ready" && onReady) onReady();
              onEvent(event.name, parseData(event.data));
            }
            event = { id: null, name: "message", data: [] };
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") event.id = text;
          else if (field === "event") event.name = text;
          else if (field === "data") event.data.push(text);
          else if (field === "retry" && /^\d+$/.test(text)) retry = Number(text);
        }
      }
    } catch (_) {
      if (signal.aborted) return;
    }
    onLive(false);
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}
