#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx's loader, so the
// same loader also serves extensions whose entry points name .ts files.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
