import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

// s3rver ships no type declarations; this is the part of its API the tests use.
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  resetOnClose: boolean;
  configureBuckets?: { name: string }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverCtor;

/** A real S3-protocol server (s3rver, files in a temp dir) on a free port, for one test file. */
export class S3Server {
  private constructor(
    private readonly server: S3rverInstance,
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** s3rver accepts any signature made with these credentials. */
  static readonly credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Client options as `DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS` would carry them. */
  get clientKwargs(): { endpoint: string; region: string; forcePathStyle: boolean; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { endpoint: this.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3Server.credentials };
  }

  static async start(buckets: string[] = []): Promise<S3Server> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-s3-"));
    const server = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: dir,
      resetOnClose: true,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    const { port } = await server.run();
    return new S3Server(server, port, dir);
  }

  async stop(): Promise<void> {
    await this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
