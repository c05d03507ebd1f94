// The REST API client: the bearer token of this tab and the JSON calls.

const TOKEN_KEY = "calsync.token";

export class AuthError extends Error {}

const session = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  onUnauthorized: () => {},
};

export function token() {
  return session.token;
}

export function setToken(t) {
  session.token = t;
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// onUnauthorized sets what happens when the API refuses the token.
export function onUnauthorized(f) {
  session.onUnauthorized = f;
}

export class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  if (options && options.body) headers["Content-Type"] = "application/json";
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) {
    session.onUnauthorized(session.token ? "The token was not accepted." : "");
    throw new AuthError("unauthorized");
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error.message : res.statusText;
    throw new HTTPError(res.status, msg);
  }
  return body;
}

export function userPath(user, suffix) {
  return "/api/v1/users/" + encodeURIComponent(user) + suffix;
}
