import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export type RecordedRequest = { method: string; path: string; query: Record<string, string>; body: unknown };
type Responder = (req: RecordedRequest) => { status: number; body: unknown } | undefined;

/**
 * A tiny HTTP server standing in for OpenSearch at the client boundary: it records
 * the requests the real `@opensearch-project/opensearch` client sends and answers in
 * OpenSearch's response format. No OpenSearch server can run in this environment.
 */
export class FakeOpenSearch {
  readonly requests: RecordedRequest[] = [];
  private responders: Responder[] = [];
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeOpenSearch> {
    const server = http.createServer();
    const fake = new FakeOpenSearch(server);
    server.on("request", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const text = Buffer.concat(chunks).toString("utf8");
        const rec: RecordedRequest = {
          method: req.method ?? "GET",
          path: decodeURIComponent(url.pathname),
          query: Object.fromEntries(url.searchParams),
          // _bulk bodies are NDJSON: recorded as the list of their lines.
          body: !text ? undefined : url.pathname.endsWith("/_bulk") ? text.trim().split("\n").map((l) => JSON.parse(l)) : JSON.parse(text),
        };
        fake.requests.push(rec);
        const answer = fake.answer(rec);
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(req.method === "HEAD" ? undefined : JSON.stringify(answer.body));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a responder tried before the defaults (first match wins). */
  respond(r: Responder): void {
    this.responders.unshift(r);
  }

  clear(): void {
    this.requests.length = 0;
  }

  private answer(rec: RecordedRequest): { status: number; body: unknown } {
    for (const r of this.responders) {
      const a = r(rec);
      if (a) return a;
    }
    if (rec.method === "HEAD" && rec.path === "/") return { status: 200, body: {} };
    if ((rec.method === "PUT" || rec.method === "POST") && rec.path.startsWith("/_index_template/")) return { status: 200, body: { acknowledged: true } };
    const upd = /^\/([^/]+)\/_update\/([^/]+)$/.exec(rec.path);
    if (upd && rec.method === "POST") {
      return {
        status: 201,
        body: { _index: upd[1], _id: upd[2], _version: 1, result: "created", _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1 },
      };
    }
    if (/\/_search$/.test(rec.path)) {
      return { status: 200, body: { took: 1, timed_out: false, hits: { total: { value: 0, relation: "eq" }, max_score: null, hits: [] } } };
    }
    return { status: 404, body: { error: { type: "fake_not_handled", reason: `${rec.method} ${rec.path}` }, status: 404 } };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}
