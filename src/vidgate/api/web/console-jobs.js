// The console's jobs: every key's jobs, newest first, filtered by status, model, key, failure
// code and text (GET /v1/admin/jobs), a page at a time.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { amount, when } from "./console-format.js";

const STATUSES = ["queued", "submitting", "throttled", "running", "downloading", "succeeded", "failed", "cancelled"];
const PAGE = 50;

let keyNames = new Map(); // key id -> name
let nextCursor = null;

function filters() {
  const params = new URLSearchParams();
  for (const [name, id] of [
    ["status", "filter-status"],
    ["model", "filter-model"],
    ["key", "filter-key"],
    ["failureCode", "filter-code"],
    ["q", "filter-text"],
  ]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  params.set("limit", String(PAGE));
  return params;
}

function credits(job) {
  if (job.costCredits !== null) return amount(job.costCredits);
  if (job.estimatedCredits !== null) return `est. ${amount(job.estimatedCredits)}`;
  return "–";
}

function row(job) {
  const key = job.keyId ? keyNames.get(job.keyId) || job.keyId : "no key";
  const failure = job.failureCode || job.failureMessage ? el("span", {
    text: job.failureCode || "failed", title: job.failureMessage || "",
  }) : null;
  return el("tr", { dataset: { job: job.id, status: job.status } },
    el("td", { text: when(job.createdAt) }),
    el("td", {}, el("code", { text: job.id })),
    el("td", { text: key }),
    el("td", { text: job.model }),
    el("td", {}, el("span", { className: `status ${job.status}`, text: job.status })),
    el("td", { text: credits(job) }),
    el("td", {}, failure),
    el("td", { className: "prompt", text: job.promptText || "", title: job.statusReason || "" }),
  );
}

async function load(append) {
  const params = filters();
  if (append && nextCursor) params.set("cursor", nextCursor);
  const error = $("jobs-error");
  error.hidden = true;
  try {
    const page = await api(`/v1/admin/jobs?${params}`);
    const body = $("jobs").tBodies[0];
    const rows = page.data.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    nextCursor = page.nextCursor;
    $("jobs-more").hidden = !nextCursor;
    $("jobs-empty").hidden = body.rows.length > 0;
  } catch (problem) {
    error.textContent = problem.fields.length
      ? problem.fields.map((f) => `${f.path}: ${f.message}`).join("; ")
      : problem.message;
    error.hidden = false;
  }
}

// The first page with the filters as they are.
export function loadJobs() {
  return load(false);
}

// Keeps the key filter and the key column in step with the keys (GET /v1/admin/keys data).
export function setKeys(keys) {
  keyNames = new Map(keys.map((k) => [k.id, k.name]));
  const select = $("filter-key");
  const chosen = select.value;
  const fixed = [...select.options].slice(0, 2); // "any", "no key"
  select.replaceChildren(...fixed, ...keys.map((k) => el("option", { value: k.id, text: `${k.name} (${k.id})` })));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// The failure codes seen lately, offered in the code field.
export function setFailureCodes(codes) {
  $("failure-codes").replaceChildren(...codes.map((code) => el("option", { value: code })));
}

export function wireJobs(models) {
  $("filter-status").append(...STATUSES.map((s) => el("option", { value: s, text: s })));
  $("filter-model").append(...models.map((m) => el("option", { value: m, text: m })));
  $("job-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadJobs();
  });
  for (const id of ["filter-status", "filter-model", "filter-key"]) {
    $(id).addEventListener("change", () => loadJobs());
  }
  $("jobs-more").addEventListener("click", () => load(true));
}
