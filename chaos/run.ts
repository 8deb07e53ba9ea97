// Fault injection: `npm run chaos -- <scenario> [--flag value ...]` runs one scenario against real
// worker processes, Redis and PostgreSQL and prints its figures as JSON lines, like the benchmarks:
//   {"bench":"chaos.<scenario>.<figure>","value":<number>,"unit":"...","target":"..."}
// `npm run chaos -- --help` lists the scenarios and their flags (with defaults).
import { emitter } from "../bench/_support.ts";
import { SCENARIOS, type ScenarioName } from "./scenarios/index.ts";

function usage(): string {
  const lines = ["usage: npm run chaos -- <scenario> [--flag value ...]", "", "scenarios:"];
  for (const [name, s] of Object.entries(SCENARIOS)) {
    lines.push(`  ${name}: ${s.description}`);
    lines.push(`    ${Object.entries(s.defaults).map(([k, v]) => `--${k} ${v}`).join(" ")}`);
  }
  return lines.join("\n");
}

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === "--help" || name === "-h") {
  process.stdout.write(`${usage()}\n`);
  process.exit(name ? 0 : 2);
}
if (!(name in SCENARIOS)) fail(`unknown scenario '${name}' (available: ${Object.keys(SCENARIOS).join(", ")})`);
const scenario = SCENARIOS[name as ScenarioName];
const opts: Record<string, number> = { ...scenario.defaults };
for (let i = 0; i < rest.length; i++) {
  const flag = rest[i]!;
  if (!flag.startsWith("--")) fail(`unexpected argument '${flag}' (flags are --name value)`);
  const key = flag.slice(2);
  if (!(key in scenario.defaults)) fail(`unknown flag --${key} for ${name} (flags: ${Object.keys(scenario.defaults).map((k) => `--${k}`).join(", ")})`);
  const value = Number(rest[++i]);
  if (rest[i] === undefined || !Number.isFinite(value) || value < 0) fail(`--${key} needs a non-negative number, got '${rest[i] ?? ""}'`);
  opts[key] = value;
}

// Interrupted: exit, so every server and worker the scenario started is killed by its exit hook.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

const emit = emitter(`chaos.${name}`);
const figures = await scenario.run(opts as never);
for (const [figureName, f] of Object.entries(figures)) emit(figureName, f.value, f.unit, f.target);
process.exit(0);
