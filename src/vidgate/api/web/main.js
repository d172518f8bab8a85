// vidgate's playground: plain ES modules over the /v1 API, no build step, nothing from elsewhere.
//
// form.js draws the form from the catalog, advanced.js the model's optional fields, media.js
// the uploads; the price is the server's own for the whole body (POST /v1/estimate), and the
// body is shown as JSON, curl, Python and Node (snippets.js). jobs.js shows the current job (its
// progress from the event stream, events.js, then its video) and the gallery.
import { api, ApiError, auth, idempotencyKey } from "./api.js";
import { advancedChanged } from "./advanced.js";
import { $, debounce } from "./dom.js";
import {
  chooseModel,
  durationChanged,
  durationValue,
  formChanged,
  loadModels,
  renderEndpointFields,
  requestBody,
  updatePromptCount,
} from "./form.js";
import {
  cardStatus,
  loadGallery,
  renderCurrent,
  rerunRequested,
  showCurrent,
  upsertJob,
  wireCurrent,
} from "./jobs.js";
import { mediaChanged } from "./media.js";
import { clearErrors, showError } from "./problems.js";
import { rerun } from "./rerun.js";
import { showRequest, wireSnippets } from "./snippets.js";
import { streamEvents } from "./events.js";
import { ENDPOINT_LABELS, state, TERMINAL } from "./state.js";

let ready = false; // models loaded and one chosen: Generate may be pressed
let submitting = false;
let wasLive = false;
let streamAbort = null;

function setReady(value) {
  ready = value;
  $("submit").disabled = !ready || submitting;
}

function setHeader(text) {
  $("server-status").textContent = text;
}

function setLive(connected) {
  const mode = state.health && state.health.mode === "emulator" ? "Emulator mode" : "Runway";
  // "Reconnecting" only once it was live: a first connection is just "connecting".
  const live = connected ? "live" : wasLive ? "reconnecting…" : "connecting…";
  wasLive = wasLive || connected;
  setHeader(`${mode} · ${live}`);
  $("server-status").dataset.live = String(connected);
}

// -- jobs --------------------------------------------------------------------------------------

async function cancelJob(jobId) {
  try {
    upsertJob(await api(`/v1/generations/${encodeURIComponent(jobId)}`, { method: "DELETE" }), cancelJob);
  } catch (error) {
    cardStatus(jobId, `Cancel failed: ${error.message}`);
  }
}

async function refreshJob(jobId) {
  try {
    upsertJob(await api(`/v1/generations/${encodeURIComponent(jobId)}`), cancelJob);
  } catch (_) {
    // a job we cannot read is not ours to show
  }
}

function onEvent(name, data) {
  if (name === "ready" || !data.jobId) return;
  const job = state.jobs.get(data.jobId);
  if (!job || name === "created" || TERMINAL.has(data.status)) {
    refreshJob(data.jobId); // the full job: output links, cost
    return;
  }
  upsertJob(
    {
      ...job,
      status: data.status || job.status,
      progress: typeof data.progress === "number" ? data.progress : job.progress,
      statusReason: data.statusReason ?? job.statusReason,
      cancelRequested: Boolean(data.cancelRequested) || job.cancelRequested,
    },
    cancelJob,
  );
}

// -- price, request and advice -----------------------------------------------------------------

const updateEstimate = debounce(async () => {
  const out = $("estimate");
  const body = requestBody();
  showRequest(body);
  if (!body) return;
  try {
    const estimate = await api("/v1/estimate", { method: "POST", json: body });
    const seconds = estimate.durationSeconds ? ` for ${estimate.durationSeconds} s` : "";
    out.textContent = `${estimate.description}${seconds}`;
    out.classList.remove("invalid");
  } catch (error) {
    const first = error instanceof ApiError && error.fields[0];
    out.textContent = first ? `not priced: ${first.path} ${first.message}` : "not available";
    out.classList.add("invalid");
  }
}, 150);

const updateRecommendation = debounce(async () => {
  const body = {
    useCase: $("use-case").value,
    priority: $("priority").value,
    hasImage: Object.values(state.media).some((m) => m.kind === "image"),
  };
  const duration = durationValue();
  if (typeof duration === "number" && duration > 0) body.duration = duration;
  try {
    const rec = await api("/v1/recommend", { method: "POST", json: body });
    state.recommendation = rec;
    const chosen = () =>
      Boolean(state.model) && state.model.id === rec.model && $("endpoint").value === rec.endpoint;
    if (!state.modelChosenByUser && !chosen()) await chooseModel(rec.model, rec.endpoint);
    const seconds = rec.estimate.durationSeconds ? ` for ${rec.estimate.durationSeconds} s` : "";
    $("advice-text").textContent =
      `Recommended: ${rec.model} (${ENDPOINT_LABELS[rec.endpoint] || rec.endpoint}). ` +
      `${rec.reason} About ${rec.estimate.description}${seconds}.`;
    $("use-advice").textContent = `Use ${rec.model}`;
    $("use-advice").hidden = chosen();
  } catch (error) {
    $("advice-text").textContent = `No recommendation: ${error.message}`;
  }
  setReady(Boolean(state.model));
}, 150);

// -- submitting --------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  if (!ready || submitting) return;
  clearErrors();
  submitting = true;
  setReady(ready);
  $("submit").textContent = "Submitting…";
  try {
    const job = await api("/v1/generations", {
      method: "POST",
      json: requestBody(),
      headers: { "Idempotency-Key": idempotencyKey() },
    });
    upsertJob(job, cancelJob);
    showCurrent(job);
    $("rerun-note").hidden = true;
  } catch (error) {
    showError(error);
  } finally {
    submitting = false;
    setReady(ready);
    $("submit").textContent = "Generate";
  }
}

// -- the API key and start ---------------------------------------------------------------------

function askForKey(message) {
  setReady(false);
  $("key-section").hidden = false;
  $("playground").hidden = true;
  setHeader("API key needed");
  const error = $("err-apiKey");
  error.textContent = message;
  error.hidden = !message;
  $("api-key").setAttribute("aria-invalid", message ? "true" : "false");
  $("api-key").focus();
}

async function useKey(event) {
  event.preventDefault();
  auth.set($("api-key").value.trim());
  try {
    await api("/v1/generations?limit=1");
  } catch (error) {
    askForKey(error.status === 401 ? "That key was refused." : error.message);
    return;
  }
  $("key-section").hidden = true;
  $("api-key").setAttribute("aria-invalid", "false");
  await start();
}

async function start() {
  $("playground").hidden = false;
  if (streamAbort) streamAbort.abort();
  streamAbort = new AbortController();
  setLive(false);
  await loadModels();
  const streamReady = new Promise((resolve) => {
    streamEvents("/v1/events", { signal: streamAbort.signal, onEvent, onLive: setLive, onReady: resolve });
  });
  // The gallery is read once the stream has started, so no change falls in between.
  await Promise.race([streamReady, new Promise((resolve) => setTimeout(resolve, 3000))]);
  await loadGallery(null, cancelJob);
  updateRecommendation();
}

async function boot() {
  try {
    state.health = await (await fetch("/healthz")).json();
  } catch (error) {
    setHeader(`The server does not answer: ${error.message}`);
    return;
  }
  $("emulator-banner").hidden = state.health.mode !== "emulator";
  if (state.health.auth === "keys" && !auth.key) {
    askForKey("");
    return;
  }
  try {
    await start();
  } catch (error) {
    if (error.status !== 401) showError(error);
  }
}

// -- wiring ------------------------------------------------------------------------------------

function wire() {
  auth.onRefused = () => askForKey("The server needs an API key.");
  formChanged.notify = updateEstimate;
  rerunRequested.notify = (job) => rerun(job).catch(showError);
  advancedChanged.notify = updateEstimate;
  mediaChanged.notify = () => {
    updateRecommendation();
    updateEstimate();
  };
  $("key-form").addEventListener("submit", useKey);
  $("generate-form").addEventListener("submit", submit);
  for (const id of ["use-case", "priority"]) {
    $(id).addEventListener("change", () => {
      state.modelChosenByUser = false;
      updateRecommendation();
    });
  }
  $("model").addEventListener("change", async () => {
    state.modelChosenByUser = true;
    clearErrors();
    try {
      await chooseModel($("model").value);
      updateRecommendation();
    } catch (error) {
      showError(error);
    }
  });
  $("endpoint").addEventListener("change", () => {
    clearErrors();
    renderEndpointFields();
  });
  $("use-advice").addEventListener("click", async () => {
    const rec = state.recommendation;
    if (!rec) return;
    state.modelChosenByUser = false;
    await chooseModel(rec.model, rec.endpoint);
    $("use-advice").hidden = true;
    $("model").focus();
  });
  $("prompt").addEventListener("input", () => {
    updatePromptCount();
    updateEstimate();
  });
  for (const id of ["duration", "duration-choice"]) {
    $(id).addEventListener("input", () => {
      durationChanged();
      updateEstimate();
    });
    $(id).addEventListener("change", () => {
      durationChanged();
      updateEstimate();
    });
  }
  $("ratio").addEventListener("change", updateEstimate);
  $("chain").addEventListener("change", () => {
    clearErrors();
    renderEndpointFields();
  });
  $("gallery-more").addEventListener("click", () => loadGallery(state.nextCursor, cancelJob));
  wireCurrent(cancelJob);
  wireSnippets();
  setReady(false);
}

wire();
renderCurrent();
boot();
