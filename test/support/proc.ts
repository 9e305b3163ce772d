import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the command name (so field 3, the state, is [0]; the parent is [1]). */
export function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses, so fields are counted after its ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Live processes whose parent is `pid` (a clustered gateway's workers). */
export function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return Number(statFields(Number(entry))[1]) === pid;
      } catch {
        return false; // Gone meanwhile.
      }
    })
    .map(Number);
}
