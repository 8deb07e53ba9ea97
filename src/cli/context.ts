import { logSettingsProblem } from "../logging.ts";
import { ConfigBackendSettings, SettingsError, TasksSettings, type Env } from "../settings.ts";

/**
 * What every core command reads from the environment, read once by the command runner (`main`)
 * before any command module loads, and passed to the command that runs: a bad value of any of
 * these stops every command with one line naming the variable (SettingsError), whichever
 * command would have read it.
 */
export interface CliContext {
  /** The environment the settings were read from (passed on to what reads its own, e.g. DB URLs). */
  readonly env: Env;
  /** DIRACX_TASKS_*: the broker URL, the connection bound of a short-lived command, timings… */
  readonly tasks: TasksSettings;
  /** DIRACX_CONFIG_*, when DIRACX_CONFIG_BACKEND_URL is set. */
  readonly configBackend: ConfigBackendSettings | undefined;
  /** DIRACX_LOG_LEVEL was set (`dev` quiets the task logs below its summary otherwise). */
  readonly logLevelSet: boolean;
  /** A CI log (CI set): output is never redrawn in place, even on a terminal. */
  readonly ci: boolean;
  /** The bound of a short-lived command's broker connection, in ms (DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS). */
  readonly connectTimeoutMs: number;
}

/** Reads the command settings from `env`; throws SettingsError naming the bad variable. */
export function readCliContext(env: Env = process.env): CliContext {
  const logProblem = logSettingsProblem(env);
  if (logProblem) throw new SettingsError(logProblem);
  const tasks = TasksSettings.fromEnv(env);
  return Object.freeze({
    env,
    tasks,
    configBackend: env.DIRACX_CONFIG_BACKEND_URL === undefined ? undefined : ConfigBackendSettings.fromEnv(env),
    logLevelSet: Boolean(env.DIRACX_LOG_LEVEL),
    // CI is the CI systems' convention, not a setting of ours: read here, the one place.
    ci: env.CI !== undefined,
    connectTimeoutMs: tasks.connectTimeoutSeconds * 1000,
  });
}
