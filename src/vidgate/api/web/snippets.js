// The request shown as the user would send it themselves: JSON, curl, Python and Node.
import { $, copyText } from "./dom.js";
import { auth } from "./api.js";

const TABS = ["json", "curl", "python", "node"];
let shown = "json";
let body = null;

function keyText() {
  return auth.key ? "$VIDGATE_API_KEY" : null;
}

function pythonValue(value, indent) {
  // JSON is nearly Python: only true/false/null differ.
  return JSON.stringify(value, null, 4)
    .replace(/\btrue\b/g, "True")
    .replace(/\bfalse\b/g, "False")
    .replace(/\bnull\b/g, "None")
    .replace(/\n/g, `\n${indent}`);
}

function code(tab) {
  const origin = window.location.origin;
  const json = JSON.stringify(body, null, 2);
  const key = keyText();
  if (tab === "json") return json;
  if (tab === "curl") {
    const lines = [`curl -sS "${origin}/v1/generations?wait=60"`];
    if (key) lines.push(`  -H "Authorization: Bearer ${key}"`);
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`);
    return lines.join(" \\\n");
  }
  if (tab === "python") {
    const keyArg = key ? `, api_key=os.environ["VIDGATE_API_KEY"]` : "";
    return [
      ...(key ? ["import os", ""] : []),
      "from vidgate.client import VidgateClient",
      "",
      `with VidgateClient("${origin}"${keyArg}) as client:`,
      `    job = client.create_generation(${pythonValue(body, "    ")})`,
      "    job = client.generation(job.id, wait=60)  # until it ends, at most 60 s",
      '    if job.status.value == "succeeded":',
      '        client.download_video(job.id, "video.mp4")',
    ].join("\n");
  }
  const headers = ['"Content-Type": "application/json"'];
  if (key) headers.push("Authorization: `Bearer ${process.env.VIDGATE_API_KEY}`");
  return [
    `const response = await fetch("${origin}/v1/generations?wait=60", {`,
    '  method: "POST",',
    `  headers: { ${headers.join(", ")} },`,
    `  body: JSON.stringify(${json.replace(/\n/g, "\n  ")}),`,
    "});",
    "const job = await response.json();",
    "console.log(job.id, job.status, job.links.video);",
  ].join("\n");
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
