/**
 * Base of every error diracx-tasks reports to a user. The message is one line
 * that names the problem and where it is (package/group/entry, configuration
 * key path, environment variable…); the CLI prints it without a stack trace.
 */
export class DiracxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
