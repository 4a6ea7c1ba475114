// The dashboard's API. Off loopback it wants an admin key: given once as ?key=, it is kept for this tab only
// (sessionStorage) and sent as a bearer token (and as ?key= on an event stream, which cannot carry headers).
const params = new URLSearchParams(location.search);
if (params.has("key")) sessionStorage.setItem("infergate-key", params.get("key"));
const key = sessionStorage.getItem("infergate-key");
const headers = key ? { authorization: `Bearer ${key}` } : {};

async function answer(response) {
  const body = await response.json();
  if (response.status === 401)
    throw new Error(`${body.error?.message}: off loopback, open this page as /ui?key=ADMIN_KEY`);
  if (!response.ok) throw new Error(body.error?.message ?? `${response.status}`);
  return body;
}

export const get = async (path) => answer(await fetch(path, { headers }));

export const post = async (path, body) =>
  answer(
    await fetch(path, {
      method: "POST",
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );

/** A server-sent event stream of the API, with the key where one is needed. */
export const events = (path) => new EventSource(`${path}${key ? `?key=${encodeURIComponent(key)}` : ""}`);
