// A 422's problems shown next to the field each names (the focus goes to the first); what names
// no field goes to the summary at the top of the form.
import { $ } from "./dom.js";

export function fieldRoot(path) {
  return String(path || "").split(/[.[]/)[0];
}

export function clearErrors() {
  document.querySelectorAll("#generate-form .field-error").forEach((node) => {
    node.textContent = "";
    node.hidden = true;
  });
  document.querySelectorAll("#generate-form [aria-invalid]").forEach((node) => {
    node.setAttribute("aria-invalid", "false");
  });
  const summary = $("form-error");
  summary.hidden = true;
  summary.textContent = "";
}

function controlFor(root) {
  if (root === "duration") return $("duration-choice").hidden ? $("duration") : $("duration-choice");
  if (root === "promptText") return $("prompt");
  const media = document.querySelector(`[data-media-field="${CSS.escape(root)}"] input`);
  if (media) return media;
  return document.querySelector(`#generate-form [data-field="${CSS.escape(root)}"]`) || $(root);
}

export function showProblems(problems, fallbackMessage, { focus = true } = {}) {
  const unplaced = [];
  let first = null;
  for (const problem of problems) {
    const root = fieldRoot(problem.path);
    const slot = root ? document.querySelector(`#generate-form #err-${CSS.escape(root)}`) : null;
    if (!slot || slot.parentElement.closest("[hidden]")) {
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
  if (!focus) return;
  if (first) first.focus();
  else if (!summary.hidden) summary.focus();
}

export function showError(error) {
  if (error && Array.isArray(error.fields) && error.fields.length) {
    showProblems(error.fields, error.message);
  } else {
    showProblems([], (error && error.message) || String(error));
  }
}
