// The form, driven by the catalog: GET /v1/models/{id} says which fields, ratios and durations
// the chosen model allows on each endpoint. Nothing the user chose is changed behind their back:
// one generation's length and a chain's length are kept apart.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { advancedBody, renderAdvancedFields } from "./advanced.js";
import { renderMediaFields, mediaFieldsOf } from "./media.js";
import { ENDPOINT_LABELS, state } from "./state.js";

const USE_CASE_ENDPOINT = {
  text: "text_to_video",
  image: "image_to_video",
  video: "video_to_video",
  product_ad: "text_to_video",
  character: "character_performance",
};
const CHAIN_MAX_SECONDS = 300;

export const formChanged = { notify: () => {} }; // set by main.js: re-price, re-render the code

function price(model) {
  const cps = model.creditsPerSecond;
  if (Array.isArray(cps)) return `${cps.join("–")} credits/s`;
  return cps === null ? "price unknown" : `${cps} credits/s`;
}

export async function loadModels() {
  const list = await api("/v1/models");
  state.models = list.data;
  const select = $("model");
  select.textContent = "";
  const current = el("optgroup", { label: "Models" });
  const legacy = el("optgroup", { label: "Legacy" });
  for (const model of state.models) {
    const option = el("option", { value: model.id, text: `${model.id} · ${price(model)}` });
    (model.legacy ? legacy : current).append(option);
  }
  select.append(current);
  if (legacy.children.length) select.append(legacy);
}

export function spec() {
  return state.model ? state.model.endpoints[$("endpoint").value] : null;
}

export function chained() {
  return !$("chain-field").hidden && $("chain").checked;
}

export async function chooseModel(modelId, endpoint) {
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
    select.append(el("option", { value: name, text: ENDPOINT_LABELS[name] || name }));
  }
  const wanted = USE_CASE_ENDPOINT[$("use-case").value];
  select.value = [endpoint, previous, wanted].find((e) => endpoints.includes(e)) || endpoints[0];
  renderEndpointFields();
}

function renderRatio(current) {
  const fields = current.fields;
  const ratio = $("ratio");
  const previous = ratio.value;
  ratio.textContent = "";
  if (fields.ratio && !fields.ratio.required) {
    ratio.append(el("option", { value: "", text: "Model default" }));
  }
  for (const value of current.ratios) {
    ratio.append(el("option", { value, text: value.replace(":", " × ") }));
  }
  ratio.value = current.ratios.includes(previous) ? previous : ratio.options[0]?.value || "";
  $("ratio-field").hidden = !fields.ratio || !current.ratios.length;
}

function nearest(values, wanted) {
  return values.reduce((a, b) => (Math.abs(b - wanted) < Math.abs(a - wanted) ? b : a));
}

function renderDuration(current) {
  const duration = current.fields.duration;
  const input = $("duration");
  const choice = $("duration-choice");
  $("duration-field").hidden = !duration;
  // A chain: one long video from several generations (text or image to video models).
  const chainable =
    Boolean(duration) &&
    ["text_to_video", "image_to_video"].includes($("endpoint").value) &&
    Boolean(state.model.endpoints.image_to_video?.durations.length);
  $("chain-field").hidden = !chainable;
  if (!chainable) $("chain").checked = false;
  if (chained()) {
    input.min = "1";
    input.max = String(CHAIN_MAX_SECONDS);
    input.value = String(state.chainDuration);
    input.hidden = false;
    choice.hidden = true;
    $("duration-label").htmlFor = "duration";
    $("duration-hint").textContent =
      `A chain of ${state.model.id} generations, up to ${CHAIN_MAX_SECONDS} s in total.`;
  } else if (duration && current.durations.length) {
    choice.textContent = "";
    for (const value of current.durations) {
      choice.append(el("option", { value: String(value), text: `${value} s` }));
    }
    // Shown as the nearest the model allows; the user's own choice is kept for the next model.
    choice.value = String(nearest(current.durations, state.duration));
    choice.hidden = false;
    input.hidden = true;
    $("duration-label").htmlFor = "duration-choice";
    const list = current.durations;
    const range = list.length > 3 ? `${list[0]} to ${list[list.length - 1]}` : list.join(", ");
    $("duration-hint").textContent = `${state.model.id} makes ${range} s.`;
  } else if (duration) {
    input.min = duration.min ?? "";
    input.max = duration.max ?? "";
    input.value = String(state.duration);
    input.hidden = false;
    choice.hidden = true;
    $("duration-label").htmlFor = "duration";
    $("duration-hint").textContent = duration.auto
      ? `${state.model.id} follows its input when left at its default.`
      : `${state.model.id}: seconds.`;
  }
}

export function renderEndpointFields() {
  const current = spec();
  if (!current) return;
  const fields = current.fields;
  const prompt = fields.promptText;
  $("prompt-field").hidden = !prompt;
  $("prompt").dataset.max = (prompt && prompt.max) || "";
  $("prompt").setAttribute("aria-required", prompt && prompt.required ? "true" : "false");
  updatePromptCount();
  renderRatio(current);
  renderDuration(current);
  renderMediaFields(fields);
  renderAdvancedFields(chained() ? {} : fields);
  formChanged.notify();
}

export function updatePromptCount() {
  const prompt = $("prompt");
  const max = Number(prompt.dataset.max) || 0;
  const length = prompt.value.length;
  $("prompt-count").textContent = max ? `${length} / ${max}` : `${length} characters`;
  $("prompt-count").classList.toggle("over", Boolean(max) && length > max);
}

// The duration as the user set it, remembered per mode.
export function durationChanged() {
  const raw = $("duration-choice").hidden ? $("duration").value : $("duration-choice").value;
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value)) return;
  if (chained()) state.chainDuration = value;
  else state.duration = value;
}

export function durationValue() {
  if ($("duration-field").hidden) return null;
  const raw = $("duration-choice").hidden ? $("duration").value : $("duration-choice").value;
  if (raw === "" || raw === null) return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : raw;
}

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

// The request exactly as it is sent to POST /v1/generations (and priced by POST /v1/estimate).
export function requestBody() {
  if (!state.model) return null;
  if (chained()) return chainBody();
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
  return Object.assign(body, advancedBody(current.fields));
}
