import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { logger } from "../logging.ts";
import { ConfigBackendSettings, TasksSettings, type Env } from "../settings.ts";
import { ConfigError, formatZodIssues } from "./errors.ts";
import { ConfigSchema, type ConfigSchemaType, type DiracxConfig } from "./schema.ts";
import { TasksConfigSchema, type TasksConfig } from "./tasks-config.ts";

export { ConfigError } from "./errors.ts";
export { Config, configToken, isConfigToken, type ConfigToken, type ResolvedConfig } from "./token.ts";

/** The part of the registry this module needs (see CONTRACTS.md, Registry API). */
export interface ConfigRegistry {
  loadActive<T>(group: string, name: string): Promise<T>;
}

export interface ConfigSourceOptions {
  /** Watch the file and reload on change (default true). */
  watch?: boolean;
  /** Use file-system events (default true); false polls only, for file systems known not to deliver them. */
  fsEvents?: boolean;
  /** Polling period, the fallback for file systems that do not deliver events (default 5000). */
  pollIntervalMs?: number;
  /** Quiet time after the last file event before reloading, so a write in several steps is read once (default 100). */
  debounceMs?: number;
}

export type ConfigChangeListener<C> = (config: C, previous: C) => void;
/** Problems a schema cannot see (one line each, key path first); any problem rejects the configuration. */
export type ConfigCheck<C> = (config: C) => readonly string[];
export type ConfigErrorListener = (error: ConfigError) => void;

/** Names of the document inside a configuration directory, in the order they are looked for. */
export const CONFIG_FILE_NAMES = ["default.yml", "default.yaml"] as const;

/**
 * Where the configuration document is, from `DIRACX_CONFIG_BACKEND_URL` or a path: a YAML
 * file, a `file://` URL, or a directory holding `default.yml` (else `default.yaml`). DiracX's
 * `git+…` backends are refused: point this at the checked-out directory instead.
 */
export function resolveConfigLocation(location: string, origin = "configuration location"): string {
  let p = location;
  if (/^file:\/\//i.test(p)) p = fileURLToPath(p);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    const scheme = p.slice(0, p.indexOf(":"));
    throw new ConfigError([`${origin} '${location}': unsupported scheme '${scheme}' (use a file or directory path, or a file:// URL)`]);
  }
  p = path.resolve(p);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new ConfigError([`${origin} '${location}': no such file or directory`]);
  }
  if (!stat.isDirectory()) return p;
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = path.join(p, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new ConfigError([`${origin} '${location}' is a directory without ${CONFIG_FILE_NAMES.join(" or ")}`]);
}

/** Parse and validate a configuration text; `ConfigError` names the file and the key path. */
export function parseConfig<C>(text: string, schema: ConfigSchemaType<C>, file?: string): C {
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const first = e.message.split("\n")[0] ?? e.message;
      return pos ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${first.replace(/ at line \d+, column \d+:?$/, "")}` : first;
    });
    throw new ConfigError(problems, { file });
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(["the document must be a mapping"], { file });
  }
  const result = schema.safeParse(data);
  if (!result.success) throw new ConfigError(formatZodIssues(result.error.issues), { file });
  return deepFreeze(result.data);
}

/**
 * The DiracX configuration, loaded from a YAML file and kept current. A change on disk is
 * validated before it replaces the current configuration; a bad one is rejected (logged at
 * error level and reported to `onError` listeners) and the previous one stays in force.
 *
 * A watching source keeps the process alive until `close()`.
 */
export class ConfigSource<C = DiracxConfig> {
  readonly file: string;
  readonly schema: ConfigSchemaType<C>;
  #config: C;
  #digest: string;
  #rejectedDigest: string | undefined;
  #changeListeners = new Set<ConfigChangeListener<C>>();
  #errorListeners = new Set<ConfigErrorListener>();
  #checks: ConfigCheck<C>[] = [];
  #watcher: fs.FSWatcher | undefined;
  #poller: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #lastStat = "";
  #inflight: Promise<boolean> | undefined;
  #queued: Promise<boolean> | undefined;
  #closed = false;
  #log;

  private constructor(file: string, schema: ConfigSchemaType<C>, config: C, digest: string) {
    this.file = file;
    this.schema = schema;
    this.#config = config;
    this.#digest = digest;
    this.#log = logger.child({ component: "config", file });
  }

  /**
   * From `DIRACX_CONFIG_BACKEND_URL`, validated by the active `diracx` → `config` entry point
   * (core's `ConfigSchema`, or the extension's schema that extends it).
   */
  static async fromEnv<C extends DiracxConfig = DiracxConfig>(
    registry: ConfigRegistry,
    env: Env = process.env,
    opts: ConfigSourceOptions = {},
  ): Promise<ConfigSource<C>> {
    const settings = ConfigBackendSettings.fromEnv(env);
    const schema = await registry.loadActive<unknown>("diracx", "config");
    if (!isZodSchema(schema)) {
      throw new ConfigError(["the active 'diracx' → 'config' entry point does not export a zod schema"]);
    }
    const file = resolveConfigLocation(settings.backendUrl, "DIRACX_CONFIG_BACKEND_URL");
    // `C` is the caller's word for what the active entry produces (e.g. GubbinsConfig).
    return ConfigSource.#open(file, schema as ConfigSchemaType<C>, { pollIntervalMs: settings.pollIntervalSeconds * 1000, ...opts });
  }

  /** From a file, directory or `file://` URL (see `resolveConfigLocation`). */
  static async fromPath<C = DiracxConfig>(
    location: string,
    schema: ConfigSchemaType<C> = ConfigSchema as unknown as ConfigSchemaType<C>,
    opts: ConfigSourceOptions = {},
  ): Promise<ConfigSource<C>> {
    return ConfigSource.#open(resolveConfigLocation(location), schema, opts);
  }

  static async #open<C>(file: string, schema: ConfigSchemaType<C>, opts: ConfigSourceOptions): Promise<ConfigSource<C>> {
    let text: string;
    try {
      text = await fsp.readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError([`cannot read: ${(err as Error).message}`], { file, cause: err });
    }
    const source = new ConfigSource(file, schema, parseConfig(text, schema, file), digest(text));
    if (opts.watch ?? true) source.#watch(opts.pollIntervalMs ?? 5000, opts.debounceMs ?? 100, opts.fsEvents ?? true);
    return source;
  }

  /** The configuration in force (frozen). */
  current(): C {
    return this.#config;
  }

  /**
   * Adds a check every configuration must pass, the current one now (a ConfigError listing
   * every problem) and each reloaded one (rejected like a schema error, the previous stays).
   */
  addCheck(check: ConfigCheck<C>): void {
    const problems = check(this.#config);
    if (problems.length > 0) throw new ConfigError(problems, { file: this.file });
    this.#checks.push(check);
  }

  /** Called after a valid, different configuration replaced the current one. Returns an unsubscribe function. */
  onChange(listener: ConfigChangeListener<C>): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Called when a changed file was rejected (the previous configuration stays). Returns an unsubscribe function. */
  onError(listener: ConfigErrorListener): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Read the file now (e.g. on SIGHUP). Resolves true when a new configuration was applied,
   * false when the file was unchanged or rejected. Concurrent calls are serialised.
   */
  reload(): Promise<boolean> {
    if (this.#inflight) {
      this.#queued ??= this.#inflight.then(() => {
        this.#queued = undefined;
        return this.reload();
      });
      return this.#queued;
    }
    this.#inflight = this.#reloadOnce().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Stop watching. `current()` keeps returning the last configuration. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#poller);
    clearTimeout(this.#debounce);
  }

  async #reloadOnce(): Promise<boolean> {
    if (this.#closed) return false;
    let text: string;
    try {
      text = await fsp.readFile(this.file, "utf8");
    } catch (err) {
      // Editors and ConfigMap updates replace files by rename: a brief absence is expected,
      // the next event or poll picks up the new file.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      this.#reject(new ConfigError([`cannot read: ${(err as Error).message}`], { file: this.file, cause: err }), "");
      return false;
    }
    const d = digest(text);
    if (d === this.#digest || this.#closed) return false;
    let next: C;
    try {
      next = parseConfig(text, this.schema, this.file);
      const problems = this.#checks.flatMap((check) => check(next));
      if (problems.length > 0) throw new ConfigError(problems, { file: this.file });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.#reject(err, d);
      return false;
    }
    const previous = this.#config;
    this.#config = next;
    this.#digest = d;
    this.#rejectedDigest = undefined;
    this.#log.info("configuration reloaded");
    for (const listener of [...this.#changeListeners]) {
      try {
        listener(next, previous);
      } catch (err) {
        this.#log.error({ err }, "configuration change listener failed");
      }
    }
    return true;
  }

  #reject(error: ConfigError, d: string): void {
    // The same bad content is reported once, however many events it produces.
    if (d && d === this.#rejectedDigest) return;
    this.#rejectedDigest = d;
    this.#log.error({ problems: error.problems }, `configuration change REJECTED, keeping the previous configuration: ${error.message}`);
    for (const listener of [...this.#errorListeners]) {
      try {
        listener(error);
      } catch (err) {
        this.#log.error({ err }, "configuration error listener failed");
      }
    }
  }

  #watch(pollIntervalMs: number, debounceMs: number, fsEvents: boolean): void {
    const trigger = (): void => {
      if (this.#closed) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        this.reload().catch((err: unknown) => this.#log.error({ err }, "configuration reload failed"));
      }, debounceMs);
    };
    // The directory is watched, not the file: editors and Kubernetes ConfigMaps replace the
    // file (rename, symlink swap), which ends a watch on the old inode. Every event in the
    // directory triggers a read; unchanged content is ignored by digest.
    if (fsEvents) {
      try {
        this.#watcher = fs.watch(path.dirname(this.file), () => trigger());
        this.#watcher.on("error", (err) => {
          this.#log.warn({ err }, "file watching failed; relying on polling");
          this.#watcher?.close();
          this.#watcher = undefined;
        });
      } catch (err) {
        this.#log.warn({ err }, "file watching unavailable; relying on polling");
      }
    }
    // Polling covers file systems without change events (NFS, some container mounts). The
    // first tick always reads, which closes the gap between the initial read and the watch.
    this.#poller = setInterval(() => {
      const key = statKey(this.file);
      if (key !== this.#lastStat) {
        this.#lastStat = key;
        trigger();
      }
    }, pollIntervalMs);
  }
}

/**
 * The tasks configuration, kept current. It comes from the file `DIRACX_TASKS_CONFIG` when
 * that is set (validated and hot-reloaded like the main document), else from the `Tasks`
 * section of the DiracX configuration. Setting both is refused at start: one of them would
 * be silently ignored.
 */
export class TasksConfigSource {
  readonly file: string | undefined;
  #own: ConfigSource<TasksConfig> | undefined;
  #config: ConfigSource<DiracxConfig>;

  private constructor(config: ConfigSource<DiracxConfig>, own: ConfigSource<TasksConfig> | undefined) {
    this.#config = config;
    this.#own = own;
    this.file = own?.file;
  }

  static async fromEnv(config: ConfigSource<DiracxConfig>, env: Env = process.env, opts: ConfigSourceOptions = {}): Promise<TasksConfigSource> {
    const file = TasksSettings.fromEnv(env).config;
    if (file === undefined) return new TasksConfigSource(config, undefined);
    const own = await ConfigSource.fromPath(resolveConfigLocation(file, "DIRACX_TASKS_CONFIG"), TasksConfigSchema, opts);
    if (config.current().Tasks !== undefined) {
      own.close();
      throw new ConfigError([`Tasks: also configured by DIRACX_TASKS_CONFIG (${own.file}); keep one of them`], { file: config.file });
    }
    return new TasksConfigSource(config, own);
  }

  /** The tasks configuration in force; `undefined` when none is configured (code defaults apply). */
  current(): TasksConfig | undefined {
    return this.#own ? this.#own.current() : this.#config.current().Tasks;
  }

  /**
   * Checks the tasks configuration now and on every reload, on whichever file holds it; the
   * check also gets the main document (for its VOs).
   */
  addCheck(check: (tasks: TasksConfig | undefined, config: DiracxConfig) => readonly string[]): void {
    if (this.#own) this.#own.addCheck((tasks) => check(tasks, this.#config.current()));
    else this.#config.addCheck((config) => check(config.Tasks, config));
  }

  /** Called when the tasks configuration changed (not on changes elsewhere in the document). */
  onChange(listener: (tasks: TasksConfig | undefined, previous: TasksConfig | undefined) => void): () => void {
    if (this.#own) return this.#own.onChange(listener);
    return this.#config.onChange((config, previous) => {
      if (JSON.stringify(config.Tasks) !== JSON.stringify(previous.Tasks)) listener(config.Tasks, previous.Tasks);
    });
  }

  /** Rejected changes of the tasks configuration's own file, or of the main document. */
  onError(listener: ConfigErrorListener): () => void {
    return (this.#own ?? this.#config).onError(listener);
  }

  /** Stops watching the tasks file (the main configuration source is the caller's to close). */
  close(): void {
    this.#own?.close();
  }
}

function statKey(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return "missing";
  }
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function isZodSchema(x: unknown): x is { safeParse: (v: unknown) => unknown } {
  return typeof x === "object" && x !== null && typeof (x as { safeParse?: unknown }).safeParse === "function";
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
