// Jobs: the current one in the output panel (progress, then the video playing, with download
// and copy-link) and every job in the gallery below, newest first: each card as tall as its
// video's ratio makes it, packed without holes (see sizeCard), and each one can be run again.
import { api, mediaUrl } from "./api.js";
import { $, copyText, el } from "./dom.js";
import { state, TERMINAL } from "./state.js";

const PAGE_SIZE = 12;
const cards = new Map(); // job id -> card parts

export const rerunRequested = { notify: () => {} }; // set by main.js: fill the form with a job

const known = (value) => value !== null && value !== undefined;

// What a job costs: what was charged once it ended, the most it may cost while it runs. A job
// that failed or was cancelled is charged what the provider reported, else nothing (the spend
// rule GET /v1/usage follows); one whose create has an unknown outcome may yet cost its estimate.
export function credits(job) {
  const ended = job.status === "failed" || job.status === "cancelled";
  if (known(job.costCredits)) {
    return ended ? `charged ${job.costCredits} credits` : `${job.costCredits} credits`;
  }
  if (ended && job.failure && job.failure.code === "SUBMISSION_UNCERTAIN") {
    const most = known(job.estimatedCredits) ? ` (up to ${job.estimatedCredits} credits)` : "";
    return `charge unknown${most}`;
  }
  if (ended) return "charged 0 credits";
  if (known(job.estimatedCredits)) return `est. ${job.estimatedCredits} credits`;
  return "cost unknown";
}

// The card's picture keeps its video's shape: the stored size once known, else the ratio asked.
function aspect(job) {
  const out = job.output;
  if (out && out.width && out.height) return `${out.width} / ${out.height}`;
  const asked = /^(\d+):(\d+)$/.exec(job.request.ratio || "");
  return asked ? `${asked[1]} / ${asked[2]}` : "16 / 9";
}

// The gallery is a grid of small rows (grid-auto-rows in style.css); each card spans as many as
// its height and one gap take, so cards of any ratio pack with no hole (and dense flow fills
// what is left). Measured again whenever a card's size changes: its video loads, its text
// grows, the window is resized.
function sizeCard(item) {
  const style = getComputedStyle($("gallery"));
  const row = parseFloat(style.gridAutoRows) || 1;
  const gap = parseFloat(style.columnGap) || 0;
  item.style.gridRowEnd = `span ${Math.ceil((item.getBoundingClientRect().height + gap) / row)}`;
}

const sizer = new ResizeObserver((entries) => entries.forEach((entry) => sizeCard(entry.target)));

function elapsed(job) {
  const start = Date.parse(job.createdAt);
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
  if (Number.isNaN(start)) return "";
  return `${Math.max(0, (end - start) / 1000).toFixed(1)} s`;
}

function videoLink(job) {
  return new URL(job.links.video, window.location.origin).href;
}

// -- the current job ---------------------------------------------------------------------------

let currentVideoFor = null;

export function showCurrent(job) {
  state.currentJobId = job.id;
  currentVideoFor = null;
  $("current-empty").hidden = true;
  $("current").hidden = false;
  $("current-id").textContent = job.id;
  $("current-player").textContent = "";
  $("current-player").classList.remove("done");
  renderCurrent();
}

export function renderCurrent() {
  const job = state.jobs.get(state.currentJobId);
  if (!job) return;
  const percent = Math.round((job.progress || 0) * 100);
  const prompt = job.request.promptText || "";
  $("current-title").textContent = prompt || job.endpoint;
  const details = [job.model, job.endpoint === "chain" ? "chain" : null, job.request.ratio];
  if (job.request.duration) details.push(`${job.request.duration} s`);
  $("current-meta").textContent = details.filter(Boolean).join(" · ");
  $("current-progress").value = percent;
  $("current-progress").setAttribute("aria-valuetext", `${job.status}, ${percent}%`);
  $("current-progress").hidden = TERMINAL.has(job.status);
  const parts = [job.status, `${percent}%`, elapsed(job), credits(job)];
  if (job.statusReason && !TERMINAL.has(job.status)) parts.push(job.statusReason);
  if (job.failure) parts.push(job.failure.message || job.failure.code || "");
  $("current-status").textContent = parts.filter(Boolean).join(" · ");
  $("current-status").className = `current-status ${job.status}`;
  $("current-cancel").hidden = TERMINAL.has(job.status) || job.cancelRequested;
  const done = job.status === "succeeded" && job.links && job.links.video;
  $("current-actions").hidden = !done;
  const player = $("current-player");
  if (done && currentVideoFor !== job.id) {
    currentVideoFor = job.id;
    playIn(player, job, { autoplay: true });
  } else if (!done) {
    player.dataset.percent = `${percent}%`;
    player.textContent = TERMINAL.has(job.status) ? `No video: ${job.status}` : `${percent}%`;
  }
}

async function playIn(container, job, { autoplay }) {
  const video = el("video", { controls: true, preload: "metadata", playsInline: true });
  video.setAttribute("aria-label", `Video: ${job.request.promptText || job.id}`);
  if (autoplay) {
    video.muted = true; // browsers only autoplay muted videos
    video.autoplay = true;
    video.loop = true;
  }
  container.textContent = "";
  container.classList.add("done");
  container.append(video);
  try {
    if (job.links.poster) video.poster = await mediaUrl(job.links.poster);
    if (job.links.preview && !autoplay) {
      // A preview that cannot be had (a job stored before previews came with the video) leaves
      // the poster alone: the video still plays.
      const preview = await mediaUrl(job.links.preview).catch(() => null);
      if (preview) attachPreview(container, video, preview);
    }
    const src = await mediaUrl(job.links.video);
    video.src = src;
    if (container.id === "current-player") $("current-download").href = src;
  } catch (error) {
    container.textContent = `The video could not be loaded: ${error.message}`;
  }
  return video;
}

// A moving preview (animated WebP) over the paused video while the pointer is on it.
function attachPreview(container, video, url) {
  const preview = el("img", { className: "preview", alt: "" });
  preview.hidden = true;
  container.dataset.preview = url;
  container.append(preview);
  let broken = false; // not stored (404): the poster stays, nothing shows over it
  preview.addEventListener("error", () => {
    broken = true;
    preview.hidden = true;
  });
  container.addEventListener("mouseenter", () => {
    if (broken || !video.paused || matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    preview.src = url;
    preview.hidden = false;
  });
  container.addEventListener("mouseleave", () => {
    preview.hidden = true;
  });
  video.addEventListener("play", () => {
    preview.hidden = true;
  });
}

export function wireCurrent(cancel) {
  $("current-cancel").addEventListener("click", () => cancel(state.currentJobId));
  $("current-copy-id").addEventListener("click", () =>
    copyText($("current-copy-id"), state.currentJobId),
  );
  $("current-copy-link").addEventListener("click", () => {
    const job = state.jobs.get(state.currentJobId);
    if (job) copyText($("current-copy-link"), videoLink(job));
  });
  setInterval(() => {
    const job = state.jobs.get(state.currentJobId);
    if (job && !TERMINAL.has(job.status)) renderCurrent();
  }, 500);
}

// -- the gallery -------------------------------------------------------------------------------

function makeCard(job, cancel) {
  const prompt = job.request.promptText || "(no prompt)";
  const screen = el("div", { className: "screen" });
  const status = el("p", { className: "state", "aria-live": "polite" });
  const progress = el("progress", { max: 100 });
  progress.setAttribute("aria-label", `Progress of ${prompt}`);
  const cost = el("span", { className: "cost" });
  const download = el("a", { className: "button small", text: "Download", hidden: true });
  download.setAttribute("download", `${job.id}.mp4`);
  const copy = el("button", { type: "button", className: "small", text: "Copy link", hidden: true });
  copy.addEventListener("click", () => copyText(copy, videoLink(job)));
  const stop = el("button", { type: "button", className: "small", text: "Cancel" });
  stop.setAttribute("aria-label", `Cancel the job ${prompt}`);
  stop.addEventListener("click", () => cancel(job.id));
  const again = el("button", { type: "button", className: "small", text: "Re-run" });
  again.setAttribute("aria-label", `Re-run ${prompt} with its settings`);
  again.addEventListener("click", () => rerunRequested.notify(state.jobs.get(job.id) || job));
  const details = [job.model, job.request.ratio, job.request.duration ? `${job.request.duration} s` : null];
  const created = new Date(job.createdAt);
  const item = el(
    "li",
    { className: "card", dataset: { jobId: job.id } },
    screen,
    el(
      "div",
      { className: "body" },
      el("h3", { text: prompt, title: prompt }),
      el("p", { className: "meta", text: details.filter(Boolean).join(" · ") }),
      el("p", { className: "meta", text: Number.isNaN(created.getTime()) ? "" : created.toLocaleString() }),
      status,
      progress,
      el("div", { className: "actions" }, cost, download, copy, again, stop),
    ),
  );
  return { item, screen, status, progress, cost, download, copy, cancel: stop, video: null };
}

function updateCard(card, job) {
  const percent = Math.round((job.progress || 0) * 100);
  card.status.textContent = TERMINAL.has(job.status)
    ? job.status + (job.failure ? `: ${job.failure.message || job.failure.code}` : "")
    : `${job.status} · ${percent}%`;
  card.status.className = `state ${job.status}`;
  card.screen.style.aspectRatio = aspect(job);
  card.progress.value = percent;
  card.progress.hidden = TERMINAL.has(job.status);
  card.cost.textContent = credits(job);
  card.cancel.hidden = TERMINAL.has(job.status) || job.cancelRequested;
  if (job.status === "succeeded" && job.links && job.links.video && !card.video) {
    card.video = true;
    playIn(card.screen, job, { autoplay: false }).then((video) => {
      card.video = video;
      if (video.src) card.download.href = video.src;
      card.download.hidden = false;
      card.copy.hidden = false;
    });
  } else if (!card.video) {
    card.screen.textContent = TERMINAL.has(job.status) ? "No video" : `${percent}%`;
  }
}

function isStale(old, job) {
  if (!old) return false;
  if (TERMINAL.has(old.status) && !TERMINAL.has(job.status)) return true;
  return Date.parse(job.updatedAt) < Date.parse(old.updatedAt);
}

export function upsertJob(job, cancel) {
  if (job.parentId) return; // a chain's segment: its chain's card shows the chain
  if (isStale(state.jobs.get(job.id), job)) return;
  state.jobs.set(job.id, job);
  let card = cards.get(job.id);
  if (!card) {
    card = makeCard(job, cancel);
    cards.set(job.id, card);
    // Newest first: ids sort by creation time.
    const later = [...$("gallery").children].find((item) => item.dataset.jobId < job.id);
    $("gallery").insertBefore(card.item, later || null);
    sizer.observe(card.item);
  }
  updateCard(card, job);
  $("gallery-empty").hidden = cards.size > 0;
  if (job.id === state.currentJobId) renderCurrent();
}

export async function loadGallery(cursor, cancel) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) params.set("cursor", cursor);
  const page = await api(`/v1/generations?${params}`);
  for (const job of page.data) upsertJob(job, cancel);
  state.nextCursor = page.nextCursor;
  $("gallery-more").hidden = !page.nextCursor;
  $("gallery-empty").hidden = cards.size > 0;
}

export function cardStatus(jobId, text) {
  const card = cards.get(jobId);
  if (card) card.status.textContent = text;
}
