// Runs a host tool for a check and reports how it ended, never throwing: a missing tool or a
// failing one is a finding, not an error of the doctor.
import { execFile } from 'node:child_process';

export interface ToolRun {
  /** false when the tool is not installed (ENOENT). */
  readonly found: boolean;
  /** null when killed (timeout) or not run. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(file: string, args: readonly string[], timeoutMs = 10_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve({ found: true, exitCode: 0, stdout, stderr });
      const missing = 'code' in err && err.code === 'ENOENT';
      resolve({ found: !missing, exitCode: typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** The first line that names an error, else the first non-empty line: the tool's own words. */
export function gist(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /error/i.test(l)) ?? lines[0] ?? '';
}
