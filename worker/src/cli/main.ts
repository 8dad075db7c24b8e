// `whatsapp-worker`: the package's command. Each sub-command lives in its own module, loaded only
// when it runs (`status` never loads Baileys, got, the simulation or the HA socket); this one only
// dispatches and turns a refused input into a message and an exit code.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidJidError } from '../jid.js';
import { DatabaseMissingError, DatabaseVersionError } from '../store/database.js';
import { UsageError, type Flags } from './options.js';

export interface Command {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly allowPositionals?: boolean;
  execute(flags: Flags, positionals: string[]): Promise<number>;
}

interface CommandEntry {
  readonly summary: string;
  load(): Promise<Command>;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  run: {
    summary: 'link to WhatsApp as a device and keep every contact\'s and group\'s picture fresh',
    load: async () => (await import('./run.js')).runCommand,
  },
  demo: {
    summary: 'run the whole pipeline against a simulated WhatsApp account (demo and test harness)',
    load: async () => (await import('./demo.js')).demoCommand,
  },
  status: {
    summary: 'show totals by state and kind, queue length, rate-limit pause and progress',
    load: async () => (await import('./status.js')).statusCommand,
  },
  refresh: {
    summary: 'put JIDs at the top of the persistent queue (a running worker picks them up)',
    load: async () => (await import('./refresh.js')).refreshCommand,
  },
};

function overview(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(8)} ${command.summary}`);
  return [
    'Usage: whatsapp-worker <command> [options]',
    '',
    'Keeps the profile pictures of a WhatsApp account\'s contacts and groups on local disk, politely.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `whatsapp-worker <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`whatsapp-worker: unknown command '${name}'\n\n${overview()}\n`);
    return 2;
  }
  const command = await entry.load();
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: command.options,
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(`${command.usage}\n`);
      return 0;
    }
    return await command.execute(values as Flags, positionals);
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidJidError || error instanceof DatabaseMissingError || error instanceof DatabaseVersionError) {
      process.stderr.write(`whatsapp-worker ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`whatsapp-worker ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw error;
  }
}
