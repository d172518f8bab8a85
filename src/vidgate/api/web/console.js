// vidgate's operator console: plain ES modules over /v1/admin, no build step, nothing from
// elsewhere. It answers an admin key (or anyone while the server runs without keys); the page
// asks for the key, keeps it in this browser (shared with the playground) and reads the rest.
//
// console-charts.js draws the spend and failure charts as SVG, console-keys.js the keys and their
// actions, console-jobs.js the filtered jobs table.
import { api, auth } from "./api.js";
import { daysBetween, seriesOf, stackedBars } from "./console-charts.js";
import { amount, size } from "./console-format.js";
import { loadJobs, setFailureCodes, setKeys, wireJobs } from "./console-jobs.js";
import { renderKeys, wireKeys } from "./console-keys.js";
import { $, el, plural } from "./dom.js";

const REFRESH_MS = 10_000;
const ACTIVE = ["queued", "submitting", "throttled", "running", "downloading"];

let keys = [];
let system = null;
let started = false;
let timer = null;

function setHeader(text) {
  $("server-status").textContent = text;
}

function askForKey(message) {
  clearInterval(timer);
  $("console").hidden = true;
  $("key-section").hidden = false;
  setHeader("Admin key needed");
  const error = $("err-apiKey");
  error.textContent = message;
  error.hidden = !message;
  $("api-key").setAttribute("aria-invalid", message ? "true" : "false");
  $("api-key").focus();
}

// What to say when the key is refused: 401 (unknown, revoked, or none sent: the heading says it
// all) or 403 (not an admin key); null for any other error.
function refusal(error) {
  if (error.status === 401) return auth.key ? "That key was refused." : "";
  if (error.code === "admin_required") return "That key is not an admin key.";
  return null;
}

// -- the service -------------------------------------------------------------------------------

function renderSystem(view) {
  system = view;
  setHeader(`${view.mode === "emulator" ? "Emulator mode" : "Runway"} · ${view.auth === "off" ? "auth off" : "API keys"}`);
  $("server-status").dataset.live = "true";
  $("auth-banner").hidden = view.auth !== "off";

  const provider = view.provider;
  const state = provider.keyRefused ? "key refused" : { closed: "up", open: "down", probing: "probing" }[provider.state];
  $("provider-state").textContent = `${provider.name}: ${state}`;
  $("provider-state").dataset.state = provider.keyRefused ? "open" : provider.state;
  const detail = [plural(provider.failures, "failure") + " in a row"];
  if (provider.state === "open") detail.push(`next try in ${Math.ceil(provider.retryAfterSeconds)} s`);
  if (provider.lastError) detail.push(`last: ${provider.lastError}`);
  $("provider-detail").textContent = detail.join(" · ");

  $("storage-bytes").textContent = size(view.storage.bytes);
  $("storage-detail").textContent = `${plural(view.storage.outputs, "video")} kept`;

  const active = ACTIVE.reduce((sum, s) => sum + (view.jobs[s] || 0), 0);
  $("jobs-active").textContent = `${active} active`;
  $("jobs-detail").textContent = ["queued", "running", "succeeded", "failed", "cancelled"]
    .map((s) => `${view.jobs[s] || 0} ${s}`)
    .join(" · ");

  $("credit-balance").textContent = view.creditBalance === null ? "unknown" : amount(view.creditBalance);
  $("credit-detail").textContent = view.organizationReadAt
    ? `at the provider, read ${view.organizationReadAt.slice(11, 19)} UTC`
    : "not read from the provider yet";

  renderSlots();
}

// The models with tasks running or made in the last 24 h; all of them with "Show idle models".
function renderSlots() {
  const all = $("slots-idle").checked;
  const shown = system.slots.filter((s) => all || s.inUse > 0 || s.dailyUsed > 0);
  const rows = shown.map((s) =>
    el("tr", { dataset: { model: s.model } },
      el("td", {}, el("code", { text: s.model })),
      el("td", {}, meter(s.inUse, s.maxConcurrent)),
      el("td", { text: s.maxConcurrent === null ? "none" : String(s.maxConcurrent) }),
      el("td", { text: s.maxDaily === null ? `${amount(s.dailyUsed)}` : `${amount(s.dailyUsed)} of ${s.maxDaily}` }),
    ),
  );
  $("slots").tBodies[0].replaceChildren(...rows);
  $("slots").hidden = rows.length === 0;
  const empty = $("slots-empty");
  empty.hidden = rows.length > 0;
  const read = system.organizationReadAt ? ` (read ${system.organizationReadAt.slice(11, 16)} UTC)` : "";
  empty.textContent = system.slots.length
    ? `No task is running, and the provider's count of the past 24 h${read} is 0 for all ${plural(system.slots.length, "model")}.`
    : "The provider's tier limits are not known yet.";
}

// "2 of 5" with a bar (a <meter>: the browser draws it, screen readers read it).
function meter(used, limit) {
  const text = limit === null ? String(used) : `${used} of ${limit}`;
  if (limit === null) return el("span", { text });
  const bar = el("meter", { min: 0, max: limit, value: Math.min(used, limit), high: limit, "aria-label": text });
  return el("span", { className: "meter" }, bar, ` ${text}`);
}

// -- charts --------------------------------------------------------------------------------------

function keyName(id) {
  if (id === null) return "no key";
  const key = keys.find((k) => k.id === id);
  return key ? key.name : id;
}

async function loadCharts() {
  const days = $("days").value;
  const [spend, failures] = await Promise.all([
    api(`/v1/admin/spend?days=${days}`),
    api(`/v1/admin/failures?days=${days}`),
  ]);
  stackedBars($("spend-chart"), {
    days: daysBetween(spend.from, spend.to),
    series: seriesOf(spend.data, (r) => keyName(r.keyId), (r) => r.spentCredits + r.reservedCredits),
    unit: ["credit", "credits"],
    empty: "No credits spent in these days.",
  });
  stackedBars($("failures-chart"), {
    days: daysBetween(failures.from, failures.to),
    series: seriesOf(failures.data, (r) => r.code || "no code", (r) => r.jobs),
    unit: ["job", "jobs"],
    whole: true,
    empty: "No job failed in these days.",
  });
  setFailureCodes([...new Set(failures.data.map((r) => r.code).filter(Boolean))].sort());
}

// -- loading -------------------------------------------------------------------------------------

async function loadKeys() {
  keys = (await api("/v1/admin/keys")).data;
  renderKeys(keys);
  setKeys(keys);
}

async function refresh() {
  renderSystem(await api("/v1/admin/system"));
  await loadKeys();
  await loadCharts();
}

async function start() {
  renderSystem(await api("/v1/admin/system"));
  $("key-section").hidden = true;
  $("console").hidden = false;
  if (!started) {
    const models = (await api("/v1/models")).data.map((m) => m.id);
    wireJobs(models);
    started = true;
  }
  await loadKeys();
  await Promise.all([loadCharts(), loadJobs()]);
  clearInterval(timer);
  timer = setInterval(() => guarded(refresh), REFRESH_MS);
}

// Runs `work`; a refused key brings the key form back, anything else is shown in the header.
async function guarded(work) {
  try {
    await work();
  } catch (error) {
    const message = refusal(error);
    if (message !== null) askForKey(message);
    else setHeader(`Error: ${error.message}`);
  }
}

async function useKey(event) {
  event.preventDefault();
  auth.set($("api-key").value.trim());
  $("api-key").value = "";
  await guarded(start);
}

// A key made while the server runs without keys turns keys on: an admin key is used from then on;
// after a plain one the page stays as it is (its token on show) and says what changed.
async function keysChanged(created) {
  if (created && system && system.auth === "off") {
    if (created.role !== "admin") {
      clearInterval(timer); // a refresh now would be refused, and hide the token
      $("new-token-note").hidden = false;
      return;
    }
    auth.set(created.token);
  }
  await guarded(async () => {
    await refresh();
    await loadJobs();
  });
}

function wire() {
  auth.onRefused = () => {};
  $("key-form").addEventListener("submit", useKey);
  $("days").addEventListener("change", () => guarded(loadCharts));
  $("slots-idle").addEventListener("change", () => system && renderSlots());
  wireKeys(keysChanged);
}

wire();
guarded(start);
