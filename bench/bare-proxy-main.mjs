/**
 * The floor for a Node gateway: node:http in, one undici pool out, the body forwarded untouched, no parsing, no
 * logs. Takes the upstream's origin as its argument; prints {url} once it listens. Plain JavaScript, run without a
 * loader, as the compiled infergate it is set beside.
 */
import { createServer } from "node:http";
import { Pool } from "undici";

const pool = new Pool(new URL(process.argv[2] ?? "").origin, { connections: 256 });

/**
 * What goes on: the body's type and length; the connection's own headers stay with each hop.
 * @param {import("node:http").IncomingHttpHeaders} headers
 */
function forwarded(headers) {
  /** @type {Record<string, string>} */
  const kept = {};
  for (const name of ["content-type", "content-length", "authorization"]) {
    const value = headers[name];
    if (typeof value === "string") kept[name] = value;
  }
  return kept;
}

const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
  pool
    .request({
      path: req.url ?? "/",
      method: /** @type {"POST"} */ (req.method),
      headers: forwarded(req.headers),
      body: req,
    })
    .then(({ statusCode, headers, body }) => {
      const type = headers["content-type"];
      res.writeHead(statusCode, typeof type === "string" ? { "content-type": type } : {});
      body.pipe(res);
    })
    .catch(() => {
      res.writeHead(502);
      res.end();
    });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}` })}\n`,
  );
});
process.on("SIGTERM", () => {
  server.close();
  void pool.close().then(() => process.exit(0));
});
