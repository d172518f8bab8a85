// Re-run: the form filled with a job's settings (model, kind of generation, prompt, ratio,
// duration, the advanced fields, the inputs it named by URI), for the user to change or simply
// to press Generate. A chain comes back as the "Long video" box ticked, at its length.
import { $ } from "./dom.js";
import { restoreAdvanced } from "./advanced.js";
import { chooseModel, formChanged, renderEndpointFields, spec, updatePromptCount } from "./form.js";
import { restoreMedia } from "./media.js";
import { clearErrors } from "./problems.js";
import { state } from "./state.js";

export async function rerun(job) {
  const request = job.request;
  const chain = request.endpoint === "chain";
  const endpoint = chain ? (request.promptImage ? "image_to_video" : "text_to_video") : request.endpoint;
  clearErrors();
  state.modelChosenByUser = true; // the recommender leaves the job's model alone
  if (typeof request.duration === "number") {
    if (chain) state.chainDuration = request.duration;
    else state.duration = request.duration;
  }
  $("chain").checked = chain;
  await chooseModel(job.model, endpoint);
  const fields = spec().fields;
  restoreAdvanced(chain ? {} : fields, request);
  const missing = restoreMedia(fields, request);
  renderEndpointFields();
  $("prompt").value = request.promptText || "";
  updatePromptCount();
  const ratio = $("ratio");
  if ([...ratio.options].some((option) => option.value === request.ratio)) ratio.value = request.ratio;
  formChanged.notify();
  const note = $("rerun-note");
  note.textContent =
    `The settings of job ${job.id} are in the form: change them, or press Generate to make it again.` +
    (missing.length ? ` Attach again: ${missing.join(", ")} (not kept by the page).` : "");
  note.hidden = false;
  $("generate-heading").scrollIntoView({ block: "start" });
  $("generate-heading").focus();
}
