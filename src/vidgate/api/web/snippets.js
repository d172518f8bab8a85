// The request shown as the user would send it themselves: JSON, curl, and the official Python
// and Node SDKs on the Runway-compatible surface (vidgate's own client for a chain).
import { $, copyText } from "./dom.js";
import { auth } from "./api.js";

const TABS = ["json", "curl", "python", "node"];
let shown = "json";
let body = null;

function keyText() {
  return auth.key ? "$VIDGATE_API_KEY" : null;
}

// The official SDKs work against vidgate's Runway-compatible surface at /runway (docs/dropin.md).
const SDK_RESOURCES = {
  text_to_video: ["text_to_video", "textToVideo"],
  image_to_video: ["image_to_video", "imageToVideo"],
  video_to_video: ["video_to_video", "videoToVideo"],
  character_performance: ["character_performance", "characterPerformance"],
};

function snake(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

// A Python literal; ``rename`` maps keys (the runwayml SDK takes snake_case, nested ones too).
function pythonValue(value, rename = snake) {
  if (Array.isArray(value)) {
    return `[${value.map((item) => pythonValue(item, rename)).join(", ")}]`;
  }
  if (value && typeof value === "object") {
    const items = Object.entries(value).map(([k, v]) => `"${rename(k)}": ${pythonValue(v, rename)}`);
    return `{${items.join(", ")}}`;
  }
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null) return "None";
  return JSON.stringify(value);
}

function withoutEndpoint() {
  const { endpoint, ...rest } = body;
  return [endpoint, rest];
}

function python(origin, key) {
  const [endpoint, rest] = withoutEndpoint();
  const resource = SDK_RESOURCES[endpoint];
  if (!resource) {
    // A chain is vidgate's own: its client speaks it.
    const keyArg = key ? `, api_key=os.environ["VIDGATE_API_KEY"]` : "";
    return [
      ...(key ? ["import os", ""] : []),
      "from vidgate.client import VidgateClient",
      "",
      `with VidgateClient("${origin}"${keyArg}) as client:`,
      `    job = client.create_generation(${pythonValue(body, (k) => k)})`,
      "    job = client.generation(job.id, wait=60)  # until it ends, at most 60 s",
      '    client.download_video(job.id, "video.mp4")',
    ].join("\n");
  }
  const args = Object.entries(rest).map(([k, v]) => `    ${snake(k)}=${pythonValue(v)},`);
  return [
    "import os",
    "",
    "from runwayml import RunwayML  # the official SDK, pointed at vidgate",
    "",
    "client = RunwayML(",
    `    base_url="${origin}/runway",`,
    `    api_key=os.environ${key ? '["VIDGATE_API_KEY"]' : '.get("VIDGATE_API_KEY", "none")'},`,
    ")",
    `task = client.${resource[0]}.create(`,
    ...args,
    ").wait_for_task_output()",
    "print(task.output[0])",
  ].join("\n");
}

function node(origin, key) {
  const [endpoint, rest] = withoutEndpoint();
  const resource = SDK_RESOURCES[endpoint];
  if (!resource) {
    const headers = ['"Content-Type": "application/json"'];
    if (key) headers.push("Authorization: `Bearer ${process.env.VIDGATE_API_KEY}`");
    return [
      `const response = await fetch("${origin}/v1/generations?wait=60", {`,
      '  method: "POST",',
      `  headers: { ${headers.join(", ")} },`,
      `  body: JSON.stringify(${JSON.stringify(body, null, 2).replace(/\n/g, "\n  ")}),`,
      "});",
      "const job = await response.json();",
      "console.log(job.id, job.status, job.links.video);",
    ].join("\n");
  }
  return [
    'import RunwayML from "@runwayml/sdk"; // the official SDK, pointed at vidgate',
    "",
    "const client = new RunwayML({",
    `  baseURL: "${origin}/runway",`,
    `  apiKey: process.env.VIDGATE_API_KEY${key ? "" : ' ?? "none"'},`,
    "});",
    `const task = await client.${resource[1]}`,
    `  .create(${JSON.stringify(rest, null, 2).replace(/\n/g, "\n  ")})`,
    "  .waitForTaskOutput();",
    "console.log(task.output[0]);",
  ].join("\n");
}

function code(tab) {
  const origin = window.location.origin;
  const key = keyText();
  if (tab === "json") return JSON.stringify(body, null, 2);
  if (tab === "curl") {
    const lines = [`curl -sS "${origin}/v1/generations?wait=60"`];
    if (key) lines.push(`  -H "Authorization: Bearer ${key}"`);
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`);
    return lines.join(" \\\n");
  }
  return tab === "python" ? python(origin, key) : node(origin, key);
}

function render() {
  for (const tab of TABS) {
    const button = $(`code-tab-${tab}`);
    button.setAttribute("aria-selected", String(tab === shown));
    button.tabIndex = tab === shown ? 0 : -1;
  }
  $("code-text").textContent = body ? code(shown) : "Choose a model to see the request.";
}

export function showRequest(next) {
  body = next;
  render();
}

export function wireSnippets() {
  for (const tab of TABS) {
    $(`code-tab-${tab}`).addEventListener("click", () => {
      shown = tab;
      render();
    });
  }
  $("code-copy").addEventListener("click", () => copyText($("code-copy"), $("code-text").textContent));
  render();
}
