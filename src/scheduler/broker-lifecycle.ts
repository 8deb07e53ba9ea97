import { randomUUID } from "node:crypto";
import { scanKeys, unlinkOnNode, type BrokerConnection } from "../redis-cluster.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { functionKind, type Registry } from "../registry/index.ts";
import { BROKER_EPOCH_KEY, LEGACY_KEY_PATTERN } from "../redis-keys.ts";

/** Entry-point group of the broker-startup hooks. */
import { BROKER_STARTUP_GROUP } from "../registry/groups.ts";
export { BROKER_STARTUP_GROUP };

/** What a broker-startup hook receives. */
export interface BrokerStartupContext {
  redis: BrokerConnection;
  logger: Logger;
  /** The new broker epoch (value of the sentinel key). */
  epoch: string;
}

/** A `diracx.broker_startup` entry: runs once per fresh (new or wiped) broker, in one process. */
export type BrokerStartupHook = (ctx: BrokerStartupContext) => Promise<void>;

export interface NamedHook {
  name: string;
  hook: BrokerStartupHook;
}

/** Imports every active `diracx.broker_startup` entry, in priority order. */
export async function loadBrokerStartupHooks(registry: Registry): Promise<NamedHook[]> {
  const hooks: NamedHook[] = [];
  for (const ep of registry.active(BROKER_STARTUP_GROUP)) {
    hooks.push({ name: ep.name, hook: await registry.load<BrokerStartupHook>(ep, functionKind) });
  }
  return hooks;
}

export interface BrokerCheck {
  epoch: string;
  /** The epoch differs from the one this process saw last (true on the first check). */
  changed: boolean;
  /** This process created the sentinel, i.e. found the broker fresh, and ran the hooks. */
  fresh: boolean;
}

export interface BrokerLifecycleOptions {
  hooks: readonly NamedHook[];
  /** Dead-letter entries awaiting resubmission (TaskDB); logged on a fresh broker. */
  countDeadLetters?: () => Promise<number>;
  /** Told first when this process finds the broker fresh (wipe-accounting.ts reports the loss). */
  onFresh?: (epoch: string) => Promise<void>;
  logger?: Logger;
}

/**
 * Notices a fresh broker. Redis may be wiped at any time (it holds nothing durable), so the
 * first process to find the epoch sentinel missing re-creates it with SET NX and is therefore
 * the only one to run the startup hooks; everyone else sees the epoch change and reacts (the
 * scheduler re-creates its schedules).
 */
export class BrokerLifecycle {
  private lastEpoch: string | undefined;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<BrokerCheck> | undefined;

  constructor(
    private readonly redis: BrokerConnection,
    private readonly opts: BrokerLifecycleOptions,
  ) {
    this.log = (opts.logger ?? rootLogger).child({ component: "broker-lifecycle" });
  }

  /** Checks the sentinel once (concurrent calls share one check). */
  check(): Promise<BrokerCheck> {
    this.checking ??= this.doCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async doCheck(): Promise<BrokerCheck> {
    const candidate = `${new Date().toISOString()}/${randomUUID()}`;
    // One command, so a wipe between "create if absent" and "read" cannot leave this process
    // believing in an epoch that is stored nowhere (SET … NX GET: the previous value, or nil
    // when this call created the key).
    const previous = (await this.redis.call("SET", BROKER_EPOCH_KEY, candidate, "NX", "GET")) as string | null;
    const created = previous === null;
    const epoch = previous ?? candidate;
    const changed = epoch !== this.lastEpoch;
    this.lastEpoch = epoch;
    if (created) {
      this.log.warn({ epoch }, "fresh broker: running broker-startup hooks");
      await this.dropLegacyKeys();
      await this.opts.onFresh?.(epoch).catch((err: unknown) => this.log.error({ err: (err as Error).message }, "cannot report the tasks lost in the wipe"));
      await this.runHooks(epoch);
      await this.reportDeadLetters();
    } else if (changed) {
      this.log.info({ epoch }, "broker epoch seen");
    }
    return { epoch, changed, fresh: created };
  }

  /**
   * A broker last used with the layout before the `{diracx}` hash tag is a fresh broker to this
   * version: its queues, schedules and locks are under names nothing reads any more. They are
   * removed, so job schedulers of that layout cannot keep firing next to the re-created ones.
   */
  private async dropLegacyKeys(): Promise<void> {
    let dropped = 0;
    // On a cluster the old keys (no hash tag) are spread over every master.
    for await (const { node, keys } of scanKeys(this.redis, LEGACY_KEY_PATTERN)) dropped += await unlinkOnNode(this.redis, node, keys);
    if (dropped > 0) this.log.warn({ keys: dropped }, `removed ${dropped} keys of the old layout (${LEGACY_KEY_PATTERN}, before the {diracx} hash tag); treating the broker as wiped`);
  }

  private async runHooks(epoch: string): Promise<void> {
    for (const { name, hook } of this.opts.hooks) {
      const log = this.log.child({ hook: name });
      try {
        await hook({ redis: this.redis, logger: log, epoch });
        log.info("broker-startup hook done");
      } catch (err) {
        // One failing hook must not keep the others (or the schedules) from running.
        log.error({ err: (err as Error).message }, `broker-startup hook '${name}' (group ${BROKER_STARTUP_GROUP}) failed`);
      }
    }
  }

  private async reportDeadLetters(): Promise<void> {
    if (!this.opts.countDeadLetters) {
      // TODO(db-sql): wire TaskDB's dead-letter count here once it lands.
      this.log.info("dead-letter count unavailable (no TaskDB configured); see `diracx-tasks dlq list`");
      return;
    }
    try {
      const n = await this.opts.countDeadLetters();
      if (n > 0) this.log.warn({ deadLetters: n }, `${n} dead-letter entries await resubmission (diracx-tasks dlq resubmit)`);
      else this.log.info("no dead-letter entries await resubmission");
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "cannot count dead-letter entries");
    }
  }

  /**
   * Re-checks every `intervalMs` and after every reconnection, calling `onChange` when the
   * epoch changed (a wipe noticed here or by another process).
   */
  watch(intervalMs: number, onChange: (check: BrokerCheck) => void | Promise<void>): void {
    const run = (): void => {
      this.check()
        .then((c) => (c.changed ? onChange(c) : undefined))
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "broker check failed; will retry"));
    };
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
    this.onReady = run;
    this.redis.on("ready", run);
  }

  private onReady: (() => void) | undefined;

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.onReady) this.redis.off("ready", this.onReady);
    this.onReady = undefined;
  }

  /** Waits for an in-flight check to settle (for a clean shutdown). */
  async idle(): Promise<void> {
    await this.checking?.catch(() => undefined);
  }
}
