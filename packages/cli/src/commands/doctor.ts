import type { DoctorCheck } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson, table } from '../output.js';

/** `shed doctor`: shedd runs the checks (it is root and has the driver's probe); exit 1 when any fails. */
export async function doctorCommand(g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const report = await shed.doctor();
    if (g.json === true) printJson(report);
    else process.stdout.write(render(report.checks));
    return report.ok ? 0 : 1;
  } finally {
    shed.close();
  }
}

/** A table of checks; a check with a fix gets it on the line below, indented. */
function render(checks: readonly DoctorCheck[]): string {
  const lines = table(['CHECK', 'STATUS', 'DETAIL'], checks.map((c) => [c.name, c.status, c.detail])).trimEnd().split('\n');
  const out = [lines[0] ?? ''];
  checks.forEach((c, i) => {
    out.push(lines[i + 1] ?? '');
    if (c.fix !== null) out.push(`    fix: ${c.fix}`);
  });
  return `${out.join('\n')}\n`;
}
