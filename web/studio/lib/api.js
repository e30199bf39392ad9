// The Studio's one way to the REST API. A problem document becomes an Error with its detail; a 401
// shows the key form.

const API = '/api/v2';
const KEY_STORAGE = 'colony.apiKey';

export const apiKey = () => localStorage.getItem(KEY_STORAGE) ?? '';
export const setApiKey = (key) => localStorage.setItem(KEY_STORAGE, key);

export class ApiError extends Error {
  constructor(message, statusCode, problem) {
    super(message);
    this.statusCode = statusCode;
    this.problem = problem;
  }
}

export async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (apiKey()) headers.authorization = `Bearer ${apiKey()}`;
  const response = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (response.status === 401) document.getElementById('key-form').hidden = false;
  if (!response.ok) throw new ApiError(data?.detail ?? `${method} ${path}: HTTP ${response.status}`, response.status, data);
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body ?? {}),
  put: (path, body) => request('PUT', path, body ?? {}),
  del: (path) => request('DELETE', path),
};

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
