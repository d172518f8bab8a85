// Input media: a drop zone per required media field; files go through POST /v1/uploads and are
// sent as their runway:// URI.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { state } from "./state.js";

const MEDIA_LABELS = {
  promptImage: "Input image",
  promptVideo: "Input video",
  videoUri: "Input video",
  character: "Character (image or video)",
  reference: "Performance to copy (video)",
};

export const mediaChanged = { notify: () => {} }; // set by main.js

export function mediaFieldsOf(fields) {
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

export function renderMediaFields(fields) {
  const container = $("media-fields");
  const wanted = mediaFieldsOf(fields);
  const names = wanted.map(([name]) => name).join(",");
  if (container.dataset.names === names) return;
  container.dataset.names = names;
  container.textContent = "";
  for (const name of Object.keys(state.media)) {
    if (!wanted.some(([n]) => n === name)) delete state.media[name];
  }
  for (const [name, field] of wanted) container.append(mediaField(name, field));
}

function mediaField(name, field) {
  const inputId = `media-${name}`;
  const input = el("input", { type: "file", id: inputId, accept: acceptFor(field) });
  input.setAttribute("aria-describedby", `status-${name} err-${name}`);
  const zone = el(
    "div",
    { className: "dropzone" },
    el("p", { text: "Drop a file here, or choose one" }),
    input,
  );
  const status = el("p", { id: `status-${name}`, className: "hint", "aria-live": "polite" });
  const clear = el("button", { type: "button", className: "link", text: "Remove", hidden: true });
  const error = el("p", { id: `err-${name}`, className: "field-error", hidden: true });
  const label = el("label", { htmlFor: inputId, text: MEDIA_LABELS[name] || name });
  const wrapper = el(
    "div",
    { className: "field", dataset: { mediaField: name } },
    label,
    zone,
    status,
    clear,
    error,
  );
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
    mediaChanged.notify();
    input.focus();
  });
  const existing = state.media[name];
  if (existing) {
    status.textContent = `Uploaded ${existing.name} (${existing.kind}).`;
    clear.hidden = false;
  }
  return wrapper;
}

// A job's inputs, taken again for a re-run: what it names by URI (an upload's runway://, an
// https URL, a short data URI). A data URI the API showed cut short cannot be sent again, nor
// several frames in one field: those are named for the user to attach again.
export function restoreMedia(fields, request) {
  const missing = [];
  for (const name of Object.keys(state.media)) delete state.media[name];
  for (const [name, field] of mediaFieldsOf(fields)) {
    let value = request[name];
    if (value === undefined) continue;
    let kind = field.type === "frames" ? "image" : field.kind;
    if (field.type === "typed_media" && value && typeof value === "object") {
      kind = value.type;
      value = value.uri;
    }
    if (Array.isArray(value) && value.length === 1 && value[0].position === "first") value = value[0].uri;
    const whole = typeof value === "string" && !/\.\.\.\(\d+ characters\)$/.test(value);
    if (whole) state.media[name] = { uri: value, kind, name: "the job's input" };
    else missing.push(MEDIA_LABELS[name] || name);
  }
  $("media-fields").dataset.names = ""; // drawn again, showing what was taken
  return missing;
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
  } catch (error) {
    delete state.media[name];
    parts.status.textContent = "";
    const messages =
      error.fields && error.fields.length ? error.fields.map((f) => f.message) : [error.message];
    parts.error.textContent = `${file.name}: ${messages.join("; ")}`;
    parts.error.hidden = false;
    parts.input.setAttribute("aria-invalid", "true");
  }
  mediaChanged.notify();
}
