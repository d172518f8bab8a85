// vidgate's page: plain JavaScript over the /v1 API, no build step, nothing from elsewhere.
//
// - The form is driven by the catalog: GET /v1/models/{id} says which fields, ratios and durations
//   the chosen model allows; POST /v1/recommend advises a model; POST /v1/estimate prices it.
// - Files are uploaded through POST /v1/uploads and sent as their runway:// URI.
// - A 422's error envelope ({"error": {"fields": [{"path", "message"}]}}) is shown next to each
//   field it names; what names no field goes to the summary at the top of the form.
// - Progress comes from Server-Sent Events (GET /v1/events), read with fetch so that an API key
//   can be sent, and resumed with Last-Event-ID after a dropped connection.
"use strict";

(() => {
  const KEY_STORAGE = "vidgate.apiKey";
  const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
  const PAGE_SIZE = 12;
  const USE_CASE_ENDPOINT = {
    text: "text_to_video",
    image: "image_to_video",
    video: "video_to_video",
    product_ad: "text_to_video",
    character: "character_performance",
  };
  const ENDPOINT_LABELS = {
    text_to_video: "Text to video",
    image_to_video: "Image to video",
    video_to_video: "Video to video",
    character_performance: "Character performance",
  };
  const MEDIA_LABELS = {
    promptImage: "Input image",
    promptVideo: "Input video",
    videoUri: "Input video",
    character: "Character (image or video)",
    reference: "Performance to copy (video)",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    apiKey: localStorage.getItem(KEY_STORAGE) || "",
    models: [],
    model: null, // the chosen model's full description (GET /v1/models/{id})
    recommendation: null,
    modelChosenByUser: false,
    media: {}, // field name -> {uri, kind, name}
    jobs: new Map(), // job id -> last known job
    cards: new Map(), // job id -> card element parts
    currentJobId: null,
    nextCursor: null,
    objectUrls: new Map(),
    streamAbort: null,
  };

  // -- HTTP -----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || `HTTP ${status}`);
      this.status = status;
      this.code = error.code || "http_error";
      this.fields = Array.isArray(error.fields) ? error.fields : [];
    }
  }

  function authHeaders() {
    return state.apiKey ? { Authorization: `Bearer ${state.apiKey}` } : {};
  }

  async function api(path, options = {}) {
    const headers = { ...authHeaders(), ...(options.headers || {}) };
    const init = { ...options, headers };
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
      delete init.json;
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      askForKey("The server needs an API key.");
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  // Media links need the key too when there is one: fetch them as blobs then.
  async function mediaUrl(path) {
    if (!state.apiKey) return path;
    if (state.objectUrls.has(path)) return state.objectUrls.get(path);
    const response = await fetch(path, { headers: authHeaders() });
    if (!response.ok) throw new ApiError(response.status, null);
    const url = URL.createObjectURL(await response.blob());
    state.objectUrls.set(path, url);
    return url;
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function idempotencyKey() {
    if (window.crypto && crypto.randomUUID) return `web-${crypto.randomUUID()}`;
    return `web-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  function credits(job) {
    if (job.costCredits !== null && job.costCredits !== undefined) {
      return `${job.costCredits} credits`;
    }
    if (job.estimatedCredits !== null && job.estimatedCredits !== undefined) {
      return `est. ${job.estimatedCredits} credits`;
    }
    return "cost unknown";
  }

  function elapsed(job) {
    const start = Date.parse(job.createdAt);
    const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
    if (Number.isNaN(start)) return "";
    return `${Math.max(0, (end - start) / 1000).toFixed(1)} s`;
  }

  // -- the API key ------------------------------------------------------------------------------

  function askForKey(message) {
    $("key-section").hidden = false;
    const error = $("err-apiKey");
    error.textContent = message;
    error.hidden = !message;
    $("api-key").setAttribute("aria-invalid", message ? "true" : "false");
  }

  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.apiKey = $("api-key").value.trim();
    if (state.apiKey) localStorage.setItem(KEY_STORAGE, state.apiKey);
    else localStorage.removeItem(KEY_STORAGE);
    try {
      await api("/v1/generations?limit=1");
    } catch (error) {
      askForKey(error.status === 401 ? "That key was refused." : error.message);
      return;
    }
    $("key-section").hidden = true;
    $("api-key").setAttribute("aria-invalid", "false");
    await start();
  });

  // -- errors next to their fields ---------------------------------------------------------------

  function fieldRoot(path) {
    return String(path || "").split(/[.[]/)[0];
  }

  function clearErrors() {
    document.querySelectorAll("#generate-form .field-error").forEach((el) => {
      el.textContent = "";
      el.hidden = true;
    });
    document.querySelectorAll("#generate-form [aria-invalid]").forEach((el) => {
      el.setAttribute("aria-invalid", "false");
    });
    const summary = $("form-error");
    summary.hidden = true;
    summary.textContent = "";
  }

  function controlFor(root) {
    if (root === "duration") {
      return $("duration-choice").hidden ? $("duration") : $("duration-choice");
    }
    if (root === "promptText") return $("prompt");
    const media = document.querySelector(`[data-media-field="${CSS.escape(root)}"] input`);
    if (media) return media;
    return $(root);
  }

  // Shows every problem: next to its field when the page has one, in the summary otherwise.
  function showProblems(problems, fallbackMessage) {
    const unplaced = [];
    let first = null;
    for (const problem of problems) {
      const root = fieldRoot(problem.path);
      const slot = root ? document.querySelector(`#generate-form #err-${CSS.escape(root)}`) : null;
      if (!slot) {
        unplaced.push(problem);
        continue;
      }
      const text = problem.path === root ? problem.message : `${problem.path}: ${problem.message}`;
      slot.textContent = slot.hidden ? text : `${slot.textContent} ${text}`;
      slot.hidden = false;
      const control = controlFor(root);
      if (control) {
        control.setAttribute("aria-invalid", "true");
        first = first || control;
      }
    }
    const summary = $("form-error");
    if (unplaced.length || !problems.length) {
      summary.textContent = "";
      const lead = document.createElement("p");
      lead.textContent = problems.length ? "Please fix:" : fallbackMessage;
      summary.append(lead);
      if (unplaced.length) {
        const list = document.createElement("ul");
        for (const problem of unplaced) {
          const item = document.createElement("li");
          item.textContent = problem.path ? `${problem.path}: ${problem.message}` : problem.message;
          list.append(item);
        }
        summary.append(list);
      }
      summary.hidden = false;
    }
    if (first) first.focus();
    else if (!summary.hidden) summary.focus();
  }

  function showError(error) {
    if (error instanceof ApiError && error.fields.length) {
      showProblems(error.fields, error.message);
    } else {
      showProblems([], error.message || String(error));
    }
  }

  // -- the catalog: models, endpoints, fields ----------------------------------------------------

  async function loadModels() {
    const list = await api("/v1/models");
    state.models = list.data;
    const select = $("model");
    select.textContent = "";
    for (const model of state.models) {
      const option = document.createElement("option");
      option.value = model.id;
      const price = Array.isArray(model.creditsPerSecond)
        ? `${model.creditsPerSecond.join("-")} credits/s`
        : model.creditsPerSecond === null
          ? "price unknown"
          : `${model.creditsPerSecond} credits/s`;
      option.textContent = `${model.id}: ${model.label} (${price})${model.legacy ? ", legacy" : ""}`;
      select.append(option);
    }
  }

  async function chooseModel(modelId, endpoint) {
    $("model").value = modelId;
    state.model = await api(`/v1/models/${encodeURIComponent(modelId)}`);
    const info = [state.model.bestFor, `speed: ${state.model.speed}`];
    if (state.model.legacy && state.model.legacyNote) info.push(state.model.legacyNote);
    $("model-info").textContent = info.join(" · ");
    const endpoints = Object.keys(state.model.endpoints);
    const select = $("endpoint");
    const previous = endpoint || select.value;
    select.textContent = "";
    for (const name of endpoints) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = ENDPOINT_LABELS[name] || name;
      select.append(option);
    }
    const wanted = USE_CASE_ENDPOINT[$("use-case").value];
    select.value = [endpoint, previous, wanted].find((e) => endpoints.includes(e)) || endpoints[0];
    renderEndpointFields();
  }

  function spec() {
    return state.model ? state.model.endpoints[$("endpoint").value] : null;
  }

  function renderEndpointFields() {
    const current = spec();
    if (!current) return;
    const fields = current.fields;

    const prompt = fields.promptText;
    $("prompt-field").hidden = !prompt;
    const max = prompt && prompt.max ? prompt.max : null;
    $("prompt").dataset.max = max || "";
    $("prompt").setAttribute("aria-required", prompt && prompt.required ? "true" : "false");
    updatePromptCount();

    // Ratio: only what the model allows.
    const ratio = $("ratio");
    const previousRatio = ratio.value;
    ratio.textContent = "";
    for (const value of current.ratios) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value.replace(":", " × ");
      ratio.append(option);
    }
    if (fields.ratio && !fields.ratio.required) {
      const auto = document.createElement("option");
      auto.value = "";
      auto.textContent = "Model default";
      ratio.prepend(auto);
    }
    ratio.value = current.ratios.includes(previousRatio) ? previousRatio : ratio.options[0]?.value || "";
    $("ratio-field").hidden = !fields.ratio || !current.ratios.length;

    // Duration: a list of values, or a range.
    const duration = fields.duration;
    const input = $("duration");
    const choice = $("duration-choice");
    const previous = Number(choice.hidden ? input.value : choice.value) || 5;
    $("duration-field").hidden = !duration;
    // A chain: one long video from several generations (text or image to video models).
    const chainable = Boolean(duration) && ["text_to_video", "image_to_video"].includes($("endpoint").value)
      && Boolean(state.model.endpoints.image_to_video);
    $("chain-field").hidden = !chainable;
    if (!chainable) $("chain").checked = false;
    if (chainable && $("chain").checked) {
      input.min = "1";
      input.max = "300";
      if (!input.value || Number(input.value) <= (duration.max ?? 10)) input.value = "30";
      input.hidden = false;
      choice.hidden = true;
      $("duration-label").htmlFor = "duration";
      $("duration-hint").textContent =
        `A chain of ${state.model.id} generations, up to 300 s in total.`;
    } else if (duration && current.durations.length) {
      choice.textContent = "";
      for (const value of current.durations) {
        const option = document.createElement("option");
        option.value = String(value);
        option.textContent = `${value} s`;
        choice.append(option);
      }
      const nearest = current.durations.reduce((a, b) =>
        Math.abs(b - previous) < Math.abs(a - previous) ? b : a,
      );
      choice.value = String(nearest);
      choice.hidden = false;
      input.hidden = true;
      $("duration-label").htmlFor = "duration-choice";
      $("duration-hint").textContent = `${state.model.id} makes ${current.durations.join(", ")} s.`;
    } else if (duration) {
      input.min = duration.min ?? "";
      input.max = duration.max ?? "";
      if (!input.value) input.value = String(Math.min(Math.max(previous, duration.min ?? 1), duration.max ?? 60));
      input.hidden = false;
      choice.hidden = true;
      $("duration-label").htmlFor = "duration";
      const range = duration.min !== null && duration.max !== null
        ? `from ${duration.min} to ${duration.max} s`
        : "in seconds";
      $("duration-hint").textContent = `${state.model.id} makes videos ${range}.`;
    }

    renderMediaFields(fields);
    updateEstimate();
  }

  function mediaFieldsOf(fields) {
    const found = [];
    for (const [name, field] of Object.entries(fields)) {
      const isMedia =
        field.type === "frames" ||
        (field.type === "media" && (field.kind === "image" || field.kind === "video")) ||
        field.type === "typed_media";
      if (isMedia && field.required) found.push([name, field]);
    }
    return found;
  }

  function acceptFor(field) {
    if (field.type === "frames" || field.kind === "image") return "image/*";
    if (field.type === "typed_media") {
      return (field.types || ["image", "video"]).map((t) => `${t}/*`).join(",");
    }
    return "video/*";
  }

  function renderMediaFields(fields) {
    const container = $("media-fields");
    const wanted = mediaFieldsOf(fields);
    const names = wanted.map(([name]) => name).join(",");
    if (container.dataset.names === names) return;
    container.dataset.names = names;
    container.textContent = "";
    for (const name of Object.keys(state.media)) {
      if (!wanted.some(([n]) => n === name)) delete state.media[name];
    }
    for (const [name, field] of wanted) {
      container.append(mediaField(name, field));
    }
  }

  function mediaField(name, field) {
    const wrapper = document.createElement("div");
    wrapper.className = "field";
    wrapper.dataset.mediaField = name;
    const inputId = `media-${name}`;
    const label = document.createElement("label");
    label.htmlFor = inputId;
    label.textContent = MEDIA_LABELS[name] || name;
    const zone = document.createElement("div");
    zone.className = "dropzone";
    const text = document.createElement("p");
    text.textContent = "Drag and drop a file here, or choose one:";
    const input = document.createElement("input");
    input.type = "file";
    input.id = inputId;
    input.accept = acceptFor(field);
    input.setAttribute("aria-describedby", `status-${name} err-${name}`);
    zone.append(text, input);
    const status = document.createElement("p");
    status.id = `status-${name}`;
    status.className = "hint";
    status.setAttribute("aria-live", "polite");
    const clear = document.createElement("button");
    clear.type = "button";
    clear.textContent = "Remove this file";
    clear.hidden = true;
    const error = document.createElement("p");
    error.id = `err-${name}`;
    error.className = "field-error";
    error.hidden = true;
    wrapper.append(label, zone, status, clear, error);

    const take = (file) => {
      if (file) uploadFile(name, file, { input, status, clear, error });
    };
    input.addEventListener("change", () => take(input.files[0]));
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      take(event.dataTransfer.files[0]);
    });
    clear.addEventListener("click", () => {
      delete state.media[name];
      input.value = "";
      status.textContent = "";
      clear.hidden = true;
      updateRecommendation();
      input.focus();
    });
    const existing = state.media[name];
    if (existing) {
      status.textContent = `Uploaded ${existing.name} (${existing.kind}).`;
      clear.hidden = false;
    }
    return wrapper;
  }

  async function uploadFile(name, file, parts) {
    parts.error.hidden = true;
    parts.input.setAttribute("aria-invalid", "false");
    parts.status.textContent = `Uploading ${file.name}…`;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("model", state.model.id);
    form.append("endpoint", $("endpoint").value);
    form.append("field", name);
    try {
      const upload = await api("/v1/uploads", { method: "POST", body: form });
      state.media[name] = { uri: upload.uri, kind: upload.kind, name: file.name };
      const size = upload.width && upload.height ? `, ${upload.width}×${upload.height}` : "";
      const length = upload.durationSeconds ? `, ${upload.durationSeconds.toFixed(1)} s` : "";
      parts.status.textContent = `Uploaded ${file.name} (${upload.kind}${size}${length}).`;
      parts.clear.hidden = false;
      updateRecommendation();
    } catch (error) {
      delete state.media[name];
      parts.status.textContent = "";
      const messages = error.fields && error.fields.length
        ? error.fields.map((f) => f.message)
        : [error.message];
      parts.error.textContent = `${file.name}: ${messages.join("; ")}`;
      parts.error.hidden = false;
      parts.input.setAttribute("aria-invalid", "true");
    }
  }

  function updatePromptCount() {
    const prompt = $("prompt");
    const max = Number(prompt.dataset.max) || 0;
    const length = prompt.value.length;
    $("prompt-count").textContent = max ? `${length} of ${max} characters` : `${length} characters`;
  }

  function durationValue() {
    if ($("duration-field").hidden) return null;
    const raw = $("duration-choice").hidden ? $("duration").value : $("duration-choice").value;
    if (raw === "" || raw === null) return null;
    const value = Number(raw);
    return Number.isFinite(value) ? value : raw;
  }

  // -- advice and cost --------------------------------------------------------------------------

  const updateEstimate = debounce(async () => {
    const out = $("estimate");
    if (!state.model) return;
    const body = { model: state.model.id, endpoint: $("endpoint").value };
    const duration = durationValue();
    if (typeof duration === "number" && duration > 0) body.duration = duration;
    try {
      const estimate = await api("/v1/estimate", { method: "POST", json: body });
      const seconds = estimate.durationSeconds ? ` for ${estimate.durationSeconds} s` : "";
      out.textContent = `${estimate.description}${seconds}`;
    } catch (error) {
      out.textContent = "not available for this duration";
    }
  }, 150);

  const updateRecommendation = debounce(async () => {
    const useCase = $("use-case").value;
    const body = {
      useCase,
      priority: $("priority").value,
      hasImage: Object.values(state.media).some((m) => m.kind === "image"),
    };
    const duration = durationValue();
    if (typeof duration === "number" && duration > 0) body.duration = duration;
    try {
      const rec = await api("/v1/recommend", { method: "POST", json: body });
      state.recommendation = rec;
      const seconds = rec.estimate.durationSeconds ? ` for ${rec.estimate.durationSeconds} s` : "";
      $("advice-text").textContent =
        `Recommended: ${rec.model} (${ENDPOINT_LABELS[rec.endpoint] || rec.endpoint}). ` +
        `${rec.reason} About ${rec.estimate.description}${seconds}.`;
      const chosen = () =>
        Boolean(state.model) && state.model.id === rec.model && $("endpoint").value === rec.endpoint;
      if (!state.modelChosenByUser && !chosen()) await chooseModel(rec.model, rec.endpoint);
      $("use-advice").textContent = `Use ${rec.model}`;
      $("use-advice").hidden = chosen();
    } catch (error) {
      $("advice-text").textContent = `No recommendation: ${error.message}`;
    }
  }, 150);

  // -- submitting -------------------------------------------------------------------------------

  function chainBody() {
    // The chain's own fields only (docs/chaining.md): the server plans the segments.
    const body = { endpoint: "chain", model: state.model.id };
    const text = $("prompt").value.trim();
    if (text) body.promptText = text;
    if ($("ratio").value && !$("ratio-field").hidden) body.ratio = $("ratio").value;
    const duration = durationValue();
    if (duration !== null) body.duration = duration;
    const image = state.media.promptImage;
    if ($("endpoint").value === "image_to_video" && image) body.promptImage = image.uri;
    return body;
  }

  function requestBody() {
    if (!$("chain-field").hidden && $("chain").checked) return chainBody();
    const current = spec();
    const body = { endpoint: $("endpoint").value, model: state.model.id };
    if (current.fields.promptText) {
      const text = $("prompt").value.trim();
      if (text) body.promptText = text;
    }
    if (current.fields.ratio && $("ratio").value) body.ratio = $("ratio").value;
    const duration = durationValue();
    if (current.fields.duration && duration !== null) body.duration = duration;
    for (const [name, field] of mediaFieldsOf(current.fields)) {
      const media = state.media[name];
      if (!media) continue;
      body[name] = field.type === "typed_media" ? { type: media.kind, uri: media.uri } : media.uri;
    }
    return body;
  }

  $("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.model) return;
    clearErrors();
    const button = $("submit");
    button.disabled = true;
    button.textContent = "Submitting…";
    try {
      const job = await api("/v1/generations", {
        method: "POST",
        json: requestBody(),
        headers: { "Idempotency-Key": idempotencyKey() },
      });
      state.currentJobId = job.id;
      upsertJob(job);
      $("current").hidden = false;
      renderCurrent();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
      button.textContent = "Generate";
    }
  });

  // -- jobs: the current one and the gallery ----------------------------------------------------

  function renderCurrent() {
    const job = state.jobs.get(state.currentJobId);
    if (!job) return;
    const percent = Math.round((job.progress || 0) * 100);
    const prompt = job.request.promptText || "";
    $("current-title").textContent = `${job.model}: ${prompt || job.endpoint}`;
    $("current-progress").value = percent;
    $("current-progress").setAttribute("aria-valuetext", `${job.status}, ${percent}%`);
    const parts = [job.status, `${percent}%`, elapsed(job), credits(job)];
    if (job.failure) parts.push(job.failure.message || job.failure.code || "");
    $("current-status").textContent = parts.filter(Boolean).join(" · ");
    $("current-cancel").hidden = TERMINAL.has(job.status);
  }

  function isStale(old, job) {
    if (!old) return false;
    if (TERMINAL.has(old.status) && !TERMINAL.has(job.status)) return true;
    return Date.parse(job.updatedAt) < Date.parse(old.updatedAt);
  }

  function upsertJob(job) {
    if (job.parentId) return; // a chain's segment: its chain's card shows "segment k of n"
    if (isStale(state.jobs.get(job.id), job)) return;
    state.jobs.set(job.id, job);
    let card = state.cards.get(job.id);
    if (!card) {
      card = makeCard(job);
      state.cards.set(job.id, card);
      // Newest first: ids sort by creation time.
      const later = [...$("gallery").children].find((item) => item.dataset.jobId < job.id);
      $("gallery").insertBefore(card.item, later || null);
    }
    updateCard(card, job);
    $("gallery-empty").hidden = state.cards.size > 0;
    if (job.id === state.currentJobId) renderCurrent();
  }

  function makeCard(job) {
    const item = document.createElement("li");
    item.className = "card";
    item.dataset.jobId = job.id;
    const screen = document.createElement("div");
    screen.className = "screen";
    const body = document.createElement("div");
    body.className = "body";
    const title = document.createElement("h3");
    const prompt = job.request.promptText || "(no prompt)";
    title.textContent = prompt;
    const meta = document.createElement("p");
    meta.className = "meta";
    const details = [job.model, job.request.ratio, job.request.duration ? `${job.request.duration} s` : null];
    const created = new Date(job.createdAt);
    details.push(Number.isNaN(created.getTime()) ? "" : created.toLocaleString());
    meta.textContent = details.filter(Boolean).join(" · ");
    const status = document.createElement("p");
    status.className = "state";
    status.setAttribute("aria-live", "polite");
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.setAttribute("aria-label", `Progress of ${prompt}`);
    const cost = document.createElement("p");
    cost.className = "meta cost";
    const actions = document.createElement("div");
    actions.className = "actions";
    const download = document.createElement("a");
    download.className = "button";
    download.textContent = "Download";
    download.hidden = true;
    download.setAttribute("download", `${job.id}.mp4`);
    download.setAttribute("aria-label", `Download the video of ${prompt}`);
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", `Cancel the job ${prompt}`);
    cancel.addEventListener("click", () => cancelJob(job.id));
    actions.append(download, cancel);
    body.append(title, meta, status, progress, cost, actions);
    item.append(screen, body);
    return { item, screen, status, progress, cost, download, cancel, video: null, prompt };
  }

  function updateCard(card, job) {
    const percent = Math.round((job.progress || 0) * 100);
    card.status.textContent = TERMINAL.has(job.status)
      ? job.status + (job.failure ? `: ${job.failure.message || job.failure.code}` : "")
      : `${job.status} · ${percent}%`;
    card.status.className = `state ${job.status}`;
    card.progress.value = percent;
    card.progress.hidden = TERMINAL.has(job.status);
    card.cost.textContent = credits(job);
    card.cancel.hidden = TERMINAL.has(job.status) || job.cancelRequested;
    if (job.status === "succeeded" && job.links && job.links.video && !card.video) {
      attachVideo(card, job);
    } else if (!card.video) {
      card.screen.textContent = TERMINAL.has(job.status) ? "No video" : `${percent}%`;
    }
  }

  async function attachVideo(card, job) {
    const video = document.createElement("video");
    card.video = video;
    video.controls = true;
    video.preload = "metadata";
    video.playsInline = true;
    video.setAttribute("aria-label", `Video: ${card.prompt}`);
    card.screen.textContent = "";
    card.screen.append(video);
    try {
      if (job.links.poster) video.poster = await mediaUrl(job.links.poster);
      if (job.links.preview) attachPreview(card, video, await mediaUrl(job.links.preview));
      const src = await mediaUrl(job.links.video);
      video.src = src;
      card.download.href = src;
      card.download.hidden = false;
    } catch (error) {
      card.screen.textContent = `The video could not be loaded: ${error.message}`;
    }
  }

  // A moving preview (animated WebP) over the paused video while the pointer is on it.
  function attachPreview(card, video, url) {
    const preview = document.createElement("img");
    preview.className = "preview";
    preview.alt = "";
    preview.hidden = true;
    card.screen.dataset.preview = url;
    card.screen.append(preview);
    card.screen.addEventListener("mouseenter", () => {
      if (!video.paused || matchMedia("(prefers-reduced-motion: reduce)").matches) return;
      preview.src = url;
      preview.hidden = false;
    });
    card.screen.addEventListener("mouseleave", () => {
      preview.hidden = true;
    });
    video.addEventListener("play", () => {
      preview.hidden = true;
    });
  }

  async function cancelJob(jobId) {
    try {
      const job = await api(`/v1/generations/${encodeURIComponent(jobId)}`, { method: "DELETE" });
      upsertJob(job);
    } catch (error) {
      const card = state.cards.get(jobId);
      if (card) card.status.textContent = `Cancel failed: ${error.message}`;
    }
  }

  async function loadGallery(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) params.set("cursor", cursor);
    const page = await api(`/v1/generations?${params}`);
    for (const job of page.data) upsertJob(job);
    state.nextCursor = page.nextCursor;
    $("gallery-more").hidden = !page.nextCursor;
    $("gallery-empty").hidden = state.cards.size > 0;
  }

  async function refreshJob(jobId) {
    try {
      upsertJob(await api(`/v1/generations/${encodeURIComponent(jobId)}`));
    } catch (_) {
      // a job we cannot read is not ours to show
    }
  }

  // -- live updates (SSE over fetch, resumable) --------------------------------------------------

  function onEvent(name, data) {
    if (name === "ready" || !data.jobId) return;
    const job = state.jobs.get(data.jobId);
    if (!job || name === "created" || TERMINAL.has(data.status)) {
      refreshJob(data.jobId); // the full job: output links, cost
      return;
    }
    upsertJob({
      ...job,
      status: data.status || job.status,
      progress: typeof data.progress === "number" ? data.progress : job.progress,
      cancelRequested: Boolean(data.cancelRequested) || job.cancelRequested,
    });
  }

  async function streamEvents(path, signal, onReady) {
    let lastEventId = null;
    let retry = 2000;
    while (!signal.aborted) {
      try {
        const headers = { Accept: "text/event-stream", ...authHeaders() };
        if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch(path, { headers, signal, cache: "no-store" });
        if (response.status === 401) {
          askForKey("The server needs an API key.");
          return;
        }
        if (response.status === 204) return;
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        setLive(true);
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
                let data = {};
                try {
                  data = JSON.parse(event.data.join("\n"));
                } catch (_) {
                  data = {};
                }
                if (event.name === "ready" && onReady) onReady();
                onEvent(event.name, data);
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
      } catch (error) {
        if (signal.aborted) return;
      }
      setLive(false);
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  }

  let health = null;

  function setLive(connected) {
    const mode = health ? (health.mode === "emulator" ? "emulator mode" : "Runway") : "";
    const live = connected ? "live updates on" : "reconnecting…";
    $("server-status").textContent = [mode, live].filter(Boolean).join(" · ");
  }

  // -- start ------------------------------------------------------------------------------------

  async function start() {
    if (state.streamAbort) state.streamAbort.abort();
    state.streamAbort = new AbortController();
    await loadModels();
    const ready = new Promise((resolve) => {
      streamEvents("/v1/events", state.streamAbort.signal, resolve);
    });
    // The gallery is read once the stream has started, so no change falls in between.
    await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 3000))]);
    await loadGallery(null);
    updateRecommendation();
  }

  async function boot() {
    try {
      const response = await fetch("/healthz");
      health = await response.json();
    } catch (error) {
      $("server-status").textContent = `The server does not answer: ${error.message}`;
      return;
    }
    $("emulator-banner").hidden = health.mode !== "emulator";
    setLive(false);
    if (health.auth === "keys" && !state.apiKey) {
      askForKey("");
      return;
    }
    try {
      await start();
    } catch (error) {
      if (error.status !== 401) showError(error);
    }
  }

  // -- wiring -----------------------------------------------------------------------------------

  $("use-case").addEventListener("change", () => {
    state.modelChosenByUser = false;
    updateRecommendation();
  });
  $("priority").addEventListener("change", () => {
    state.modelChosenByUser = false;
    updateRecommendation();
  });
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
  $("prompt").addEventListener("input", updatePromptCount);
  $("duration").addEventListener("input", updateEstimate);
  $("chain").addEventListener("change", () => {
    clearErrors();
    renderEndpointFields();
  });
  $("duration-choice").addEventListener("change", updateEstimate);
  $("gallery-more").addEventListener("click", () => loadGallery(state.nextCursor));
  $("current-cancel").addEventListener("click", () => {
    if (state.currentJobId) cancelJob(state.currentJobId);
  });
  setInterval(() => {
    const job = state.jobs.get(state.currentJobId);
    if (job && !TERMINAL.has(job.status)) renderCurrent();
  }, 500);

  boot();
})();
