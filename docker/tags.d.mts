// Types of docker/tags.mjs (a plain script, so docker/build.sh needs no TypeScript).
export function releaseVersion(repoRoot?: string): string;
export function baseTag(date: Date, existing?: string[]): string;
export function imageTags(options?: { date?: Date; existing?: string[]; registry?: string; repoRoot?: string }): { base: string; tasks: string; gubbins: string };
