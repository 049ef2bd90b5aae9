import { demoCommand, demoUsage } from './demo.ts';
import { explainCommand, explainUsage } from './explain.ts';
import { keyCommand, keyUsage } from './key.ts';
import { reasonsCommand, reasonsUsage } from './reasons.ts';
import { serveCommand, serveUsage, UsageError } from './serve.ts';
import { simulateCommand, simulateUsage } from './simulate.ts';
import { tokenCommand, tokenUsage } from './token.ts';
import { usageCommand, usageUsage } from './usage.ts';
import { applyCommand, applyUsage, exportCommand, exportUsage } from './apply.ts';
import { subscriptionCommand, subscriptionUsage, whoCanCommand, whoCanUsage } from './subscription.ts';
import { vaultCommand, vaultUsage } from './vault.ts';
import { statsCommand, statsUsage } from './stats.ts';
import { auditCommand, auditUsage } from './audit.ts';

const verbs: Record<string, { run: (argv: string[]) => Promise<number>; usage: string }> = {
  serve: { run: serveCommand, usage: serveUsage },
  demo: { run: demoCommand, usage: demoUsage },
  reasons: { run: reasonsCommand, usage: reasonsUsage },
  explain: { run: explainCommand, usage: explainUsage },
  simulate: { run: simulateCommand, usage: simulateUsage },
  token: { run: tokenCommand, usage: tokenUsage },
  key: { run: keyCommand, usage: keyUsage },
  usage: { run: usageCommand, usage: usageUsage },
  apply: { run: applyCommand, usage: applyUsage },
  export: { run: exportCommand, usage: exportUsage },
  subscription: { run: subscriptionCommand, usage: subscriptionUsage },
  'who-can': { run: whoCanCommand, usage: whoCanUsage },
  vault: { run: vaultCommand, usage: vaultUsage },
  stats: { run: statsCommand, usage: statsUsage },
  audit: { run: auditCommand, usage: auditUsage },
};

function usage(): string {
  return `pinpoint — an API gateway whose every refusal is pinpointed\n\nUsage:\n${Object.values(verbs).map((v) => '  ' + v.usage.replace(/\n/g, '\n  ')).join('\n\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') { process.stdout.write(usage()); return verb ? 0 : 2; }
  const entry = verbs[verb];
  if (!entry) { process.stderr.write(`pinpoint: unknown command "${verb}"\n\n${usage()}`); return 2; }
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(`${entry.usage}\n`); return 0; }
  try {
    return await entry.run(rest);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof UsageError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`pinpoint ${verb}: ${e.message}\n\n${entry.usage}\n`);
      return 2;
    }
    throw err;
  }
}

const code = await main(process.argv.slice(2));
// Servers keep the process alive; one-shot verbs exit with their status.
if (code !== 0 || !['serve', 'demo', 'vault'].includes(process.argv[2] ?? '')) process.exitCode = code;
