/**
 * On the machines the engine runs on, a socket write costs more of the worker's CPU than
 * anything else it does for a task (a system call, and over loopback the receiving side's
 * network processing too). A task with locks sends its lock release just before BullMQ writes
 * the job's completion on the same connection, a few microtasks later: `holdThrough` lets the
 * release wait in the socket (corked) until the next command is written, so the two leave in one
 * write, in order — Redis still applies the release first, so nobody sees a finished task
 * holding its locks.
 *
 * Only the command right after is waited for, never the rest of the tick: holding every write
 * until the tick ends batches all running tasks into one write and makes the worker and Redis
 * take turns (measured: half the throughput). If no command follows (nothing else to send),
 * the held write leaves at the next turn of the event loop. A Redis Cluster connection has a
 * socket per node, so nothing is held there.
 */
import type { Socket } from "node:net";
import { Redis, type Command } from "ioredis";
import type { BrokerConnection } from "../redis-cluster.ts";

/** One pairing per connection: workers sharing a connection share its held writes. */
const pairings = new WeakMap<Redis, WritePairing>();

export class WritePairing {
  /** The socket held (corked) and how many holds it has, until the next command is written. */
  private corked: Socket | undefined;
  private holds = 0;
  private armed = false;
  private fallback: NodeJS.Immediate | undefined;

  /** The pairing of `connection`, made (and its `sendCommand` wrapped) on first use. */
  static of(connection: BrokerConnection): WritePairing {
    if (!(connection instanceof Redis)) return new WritePairing(undefined);
    let pairing = pairings.get(connection);
    if (!pairing) pairings.set(connection, (pairing = new WritePairing(connection)));
    return pairing;
  }

  private constructor(private readonly redis: Redis | undefined) {
    if (!redis) return;
    const pairing = this;
    // Every command of the connection passes here and, when the connection is ready, is written
    // at once. A pipeline's commands pass with the pipeline's own buffer as `stream`: they are
    // not the next write, the pipeline writes its batch to the socket itself afterwards (behind
    // the held writes, in the same flush). The class's method is looked up at each call (on the prototype), so
    // instrumentation that patches it later (OpenTelemetry's ioredis spans) still sees this
    // connection's commands. The wrapper stays for the connection's life: a flag check per command.
    const cls = Object.getPrototypeOf(redis) as Redis;
    redis.sendCommand = function (this: Redis, command: Command, stream?: Parameters<Redis["sendCommand"]>[1]): unknown {
      try {
        return cls.sendCommand.call(this, command, stream);
      } finally {
        if (pairing.armed && stream === undefined) pairing.release();
      }
    };
  }

  /**
   * Runs `send` (which writes one command on the connection) with the socket held, so that its
   * command leaves with the next one written after it. Returns what `send` returns.
   */
  holdThrough<T>(send: () => T): T {
    const redis = this.redis;
    // Auto-pipelining sends nothing at once: there is no write to hold.
    const socket = redis?.status === "ready" && !redis.options.enableAutoPipelining ? (redis.stream as Socket | undefined) : undefined;
    if (!socket || typeof socket.cork !== "function") return send();
    this.armed = false; // the command `send` writes is the held one, not the one it waits for
    if (this.corked && this.corked !== socket) this.release(); // a reconnect: a new socket
    socket.cork();
    this.corked = socket;
    this.holds++;
    try {
      return send();
    } finally {
      this.armed = true;
      // At most one pending; one left over from an earlier hold can only send a held write early.
      this.fallback ??= setImmediate(() => {
        this.fallback = undefined;
        if (this.holds > 0) this.release();
      });
    }
  }

  /** Lets the held writes go (one write system call for all of them). */
  private release(): void {
    this.armed = false;
    const socket = this.corked;
    this.corked = undefined;
    for (; this.holds > 0; this.holds--) socket?.uncork();
  }
}
