#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx's loader, so the
// same loader also serves extensions whose entry points name .ts files.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv);
// A command is over when main returns: handles a task left open (its own
// clients, timers) must not keep `call`/`submit` hanging. Exit once stdout
// has been flushed, since pipes are written asynchronously.
process.stdout.write("", () => process.exit(code));
