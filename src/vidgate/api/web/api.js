// The /v1 API as the page uses it: the API key (kept in this browser), JSON in and out, and the
// error envelope ({"error": {"code", "message", "fields": [{"path", "message"}]}}) as ApiError.

const KEY_STORAGE = "vidgate.apiKey";

export const auth = {
  key: localStorage.getItem(KEY_STORAGE) || "",
  onRefused: () => {}, // set by main.js: a 401 asks for a key
  set(key) {
    this.key = key;
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  },
  headers() {
    return this.key ? { Authorization: `Bearer ${this.key}` } : {};
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = Array.isArray(error.fields) ? error.fields : [];
  }
}

export async function api(path, options = {}) {
  const headers = { ...auth.headers(), ...(options.headers || {}) };
  const init = { ...options, headers };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  if (response.status === 401) auth.onRefused();
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

const objectUrls = new Map();

// Media links need the key too when there is one: a <video> cannot send it, so fetch a blob.
export async function mediaUrl(path) {
  if (!auth.key) return path;
  if (objectUrls.has(path)) return objectUrls.get(path);
  const response = await fetch(path, { headers: auth.headers() });
  if (!response.ok) throw new ApiError(response.status, null);
  const url = URL.createObjectURL(await response.blob());
  objectUrls.set(path, url);
  return url;
}

export function idempotencyKey() {
  if (window.crypto && crypto.randomUUID) return `web-${crypto.randomUUID()}`;
  return `web-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
