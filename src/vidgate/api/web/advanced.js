// "Advanced settings": the model's optional fields, generated from its catalog entry (seed,
// audio, output format, camera motion…). Only what the user sets is sent; the rest is the
// model's default. Fields the page cannot edit (lists of media, provider settings) are named,
// with a pointer to the API.
import { $, el } from "./dom.js";
import { state } from "./state.js";

// Drawn by the main form or as media inputs, not here.
const CORE = new Set(["promptText", "ratio", "duration"]);
const EDITABLE = new Set(["boolean", "choice", "seed", "integer", "number", "text", "string", "content_moderation"]);
const SEED_MAX = 4294967295;

export const advancedChanged = { notify: () => {} }; // set by main.js

function label(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
}

function hint(field) {
  if (field.note) return field.note;
  if (field.type === "seed") return `0 to ${SEED_MAX}: the same seed gives the same video.`;
  if (field.min !== null && field.max !== null) return `${field.min} to ${field.max}.`;
  if (field.type === "text" && field.max) return `At most ${field.max} characters.`;
  return "";
}

function control(name, field) {
  const id = `adv-${name}`;
  const current = state.advanced[name];
  const props = { id, dataset: { field: name } };
  if (field.type === "boolean") {
    const select = el("select", props);
    select.append(
      el("option", { value: "", text: "Model default" }),
      el("option", { value: "true", text: "On" }),
      el("option", { value: "false", text: "Off" }),
    );
    select.value = current === undefined ? "" : String(current);
    return select;
  }
  if (field.type === "choice" || field.type === "content_moderation") {
    const values = field.type === "choice" ? field.values || [] : ["auto", "low"];
    const select = el("select", props, el("option", { value: "", text: "Model default" }));
    for (const value of values) select.append(el("option", { value: String(value), text: String(value) }));
    const shown = field.type === "content_moderation" ? current?.publicFigureThreshold : current;
    select.value = shown === undefined ? "" : String(shown);
    return select;
  }
  if (field.type === "text" || field.type === "string") {
    const input = el("input", { ...props, type: "text", placeholder: "Model default" });
    if (field.max) input.maxLength = field.max;
    input.value = current ?? "";
    return input;
  }
  const input = el("input", { ...props, type: "number", placeholder: "Model default" });
  input.step = field.type === "number" ? "any" : "1";
  input.min = field.type === "seed" ? "0" : field.min ?? "";
  input.max = field.type === "seed" ? String(SEED_MAX) : field.max ?? "";
  input.value = current ?? "";
  return input;
}

function read(field, node) {
  const raw = node.value;
  if (raw === "") return undefined;
  if (field.type === "boolean") return raw === "true";
  if (field.type === "content_moderation") return { publicFigureThreshold: raw };
  if (field.type === "choice") {
    const match = (field.values || []).find((v) => String(v) === raw);
    return match === undefined ? raw : match;
  }
  if (["seed", "integer", "number"].includes(field.type)) {
    const value = Number(raw);
    return Number.isFinite(value) ? value : raw;
  }
  return raw;
}

export function renderAdvancedFields(fields) {
  const container = $("advanced-fields");
  container.textContent = "";
  const apiOnly = [];
  let count = 0;
  for (const [name, field] of Object.entries(fields)) {
    if (CORE.has(name) || field.required || field.deprecated) continue;
    if (!EDITABLE.has(field.type)) {
      apiOnly.push(name);
      continue;
    }
    count += 1;
    const node = control(name, field);
    node.setAttribute("aria-describedby", `hint-${name} err-${name}`);
    node.addEventListener("change", () => {
      const value = read(field, node);
      if (value === undefined) delete state.advanced[name];
      else state.advanced[name] = value;
      advancedChanged.notify();
    });
    if (node.tagName === "INPUT") node.addEventListener("input", () => node.dispatchEvent(new Event("change")));
    container.append(
      el(
        "div",
        { className: "field" },
        el("label", { htmlFor: node.id, text: label(name) }),
        node,
        el("p", { id: `hint-${name}`, className: "hint", text: hint(field) }),
        el("p", { id: `err-${name}`, className: "field-error", hidden: true }),
      ),
    );
  }
  if (apiOnly.length) {
    container.append(
      el("p", { className: "hint wide", text: `Through the API only: ${apiOnly.join(", ")}.` }),
    );
  }
  $("advanced").hidden = count === 0 && apiOnly.length === 0;
  $("advanced-count").textContent = count ? `${count} options` : "";
}

// A job's optional settings, taken again for a re-run: those this page can edit.
export function restoreAdvanced(fields, request) {
  state.advanced = {};
  for (const [name, field] of Object.entries(fields)) {
    const value = request[name];
    if (value === undefined || CORE.has(name) || field.required || !EDITABLE.has(field.type)) continue;
    state.advanced[name] = value;
  }
}

// The fields the user set that this endpoint takes.
export function advancedBody(fields) {
  const body = {};
  for (const [name, value] of Object.entries(state.advanced)) {
    if (fields[name] && !fields[name].required) body[name] = value;
  }
  return body;
}
