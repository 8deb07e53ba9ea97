import net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (the caller retries if it is taken). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("could not allocate a local port"));
      srv.close(() => resolve(addr.port));
    });
  });
}
