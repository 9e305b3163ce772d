import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

const introduction = [
  '# Benchmarks',
  '',
  'Numbers measured on the development machine by the benchmark scripts under `bench/`. Each',
  'benchmark rewrites its own section below (between its `bench:<name>` markers) every time it runs,',
  'together with the command, the date, the machine and the commit it ran on; everything outside',
  'those markers is left alone. `npm run bench` runs them all.',
  '',
].join('\n');

/**
 * Replaces the section a benchmark owns in a Markdown file (creating the file with a short
 * introduction if needed), so re-running refreshes the numbers and leaves the rest untouched.
 */
export function writeOwnedSection(file: string, sectionName: string, body: string): void {
  const begin = `<!-- bench:${sectionName}:begin -->`;
  const end = `<!-- bench:${sectionName}:end -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : introduction;
  const beginAt = current.indexOf(begin);
  const endAt = current.indexOf(end);
  const next =
    beginAt !== -1 && endAt > beginAt ? current.slice(0, beginAt) + section + current.slice(endAt + end.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
}

export function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

function commandOutput(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export interface MachineDescription {
  cpuModel: string;
  /** What `nproc` says: the cores this process may use. */
  processors: number;
  totalMemoryGb: number;
  /** `free -g` as printed, when the command exists. */
  freeOutput: string | undefined;
  nodeVersion: string;
  /** The commit, with a note when the work tree has uncommitted changes. */
  commit: string;
}

export function describeMachine(): MachineDescription {
  const head = commandOutput('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = (commandOutput('git', ['status', '--porcelain']) ?? '') !== '';
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    processors: Number(commandOutput('nproc', [])) || availableParallelism(),
    totalMemoryGb: totalmem() / 1024 ** 3,
    freeOutput: commandOutput('free', ['-g']),
    nodeVersion: process.version,
    commit: dirty ? `${head} (with uncommitted changes)` : head,
  };
}

/** A number for a table: whole above 100, otherwise with up to `digits` significant digits. */
export function formatNumber(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}
