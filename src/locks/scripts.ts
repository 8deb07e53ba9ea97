import { readFileSync } from "node:fs";
import type { BrokerConnection } from "../redis-cluster.ts";

// Each script lives in its own file under ./lua and is registered with ioredis `defineCommand`,
// which runs it by EVALSHA and reloads it on NOSCRIPT (after a Redis restart or SCRIPT FLUSH).
const SCRIPTS = {
  acquire: "diracxLocksAcquire",
  extend: "diracxLocksExtend",
  release: "diracxLocksRelease",
  "force-release": "diracxLocksForceRelease",
  inspect: "diracxLocksInspect",
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptReply = string | number | null | ScriptReply[];
type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<ScriptReply>;

const luaDir = new URL("./lua/", import.meta.url);
const sources = new Map<ScriptName, string>();

function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    const lib = readFileSync(new URL("lib.lua", luaDir), "utf8");
    lua = `${lib}\n${readFileSync(new URL(`${name}.lua`, luaDir), "utf8")}`;
    sources.set(name, lua);
  }
  return lua;
}

/**
 * Runs a lock script on this connection, defining it there on first use. The command is written
 * before this returns (the worker holds a release's write to pair it, write-pairing.ts); not an
 * async function, so a task's lock calls cost no extra promise.
 */
export function runScript(redis: BrokerConnection, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
  const command = SCRIPTS[name];
  const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
  try {
    if (typeof commands[command] !== "function") redis.defineCommand(command, { lua: source(name) });
    return (commands[command] as ScriptCommand).call(redis, keys.length, ...keys, ...args);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
