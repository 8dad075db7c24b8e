// A real Home Assistant Core for the suite: a fresh config folder with the integration copied in,
// started from the Python environment that scripts/python-env.sh provides, on 127.0.0.1 and a free
// port. Stop (SIGTERM) and start again on the same folder to test an HA restart.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HaRest } from './ha-rest.js';
import { HaWebSocket } from './ha-websocket.js';
import { ManagedProcess } from './processes.js';
import { REPO_ROOT } from './paths.js';
import { GiveUpError, waitFor } from './wait.js';

// HA starts in a few seconds here with the small configuration below; a cold Python cache on a
// busy 2-core machine is much slower, and the limit only exists to turn a hang into a failure.
const HA_START_TIMEOUT_MS = 180_000;
// HA saves its storage on the way down.
const HA_STOP_GRACE_MS = 60_000;
const RUNNING_STATE = 'RUNNING';

/**
 * The Python that runs Home Assistant: WHATSAPP_E2E_PYTHON when scripts/test-e2e.sh already
 * resolved it, otherwise whatever scripts/python-env.sh prints on its last line.
 */
export function resolvePython(): string {
  const given = process.env.WHATSAPP_E2E_PYTHON?.trim();
  if (given) return given;
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'python-env.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const python = result.stdout.trim().split('\n').at(-1)?.trim();
  if (result.status !== 0 || !python) {
    throw new Error(`scripts/python-env.sh failed (exit ${result.status}); set WHATSAPP_E2E_PYTHON to a Python with homeassistant installed`);
  }
  return python;
}

/**
 * The configuration: only what the suite needs, so HA starts in seconds. `frontend` brings
 * onboarding, auth, config entries, Lovelace and the login page; the integration brings `image`.
 */
function configurationYaml(port: number): string {
  return [
    'homeassistant:',
    '  name: WhatsApp e2e',
    '  time_zone: UTC',
    '  country: DE',
    '  language: en',
    '  unit_system: metric',
    '  latitude: 52.52',
    '  longitude: 13.40',
    '  elevation: 34',
    `  internal_url: http://127.0.0.1:${port}`,
    'http:',
    '  server_host: 127.0.0.1',
    `  server_port: ${port}`,
    'frontend:',
    // The Media panel (media.e2e.ts browses WhatsApp's pictures there).
    'media_source:',
    'logger:',
    '  default: warning',
    '  logs:',
    '    custom_components.whatsapp: debug',
    '',
  ].join('\n');
}

/**
 * Onboarding's core-config step would set up `met`, `radio_browser` and `google_translate`, which
 * reach the internet; the suite marks that step (and analytics) done beforehand and does the user
 * and integration steps through the REST API.
 */
function onboardingStorage(): string {
  return JSON.stringify({ version: 4, minor_version: 1, key: 'onboarding', data: { done: ['core_config', 'analytics'] } }, null, 2);
}

export class HomeAssistantServer {
  private process: ManagedProcess | undefined;
  private starts = 0;
  readonly baseUrl: string;
  readonly rest: HaRest;

  constructor(
    private readonly python: string,
    readonly configDir: string,
    readonly port: number,
    private readonly logDir: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.rest = new HaRest(this.baseUrl);
  }

  /** Writes a fresh config folder with the integration copied in (a copy, so a change in the working tree mid-run cannot mix versions). */
  prepare(extraConfiguration = ''): void {
    mkdirSync(join(this.configDir, '.storage'), { recursive: true });
    writeFileSync(join(this.configDir, 'configuration.yaml'), configurationYaml(this.port) + extraConfiguration);
    writeFileSync(join(this.configDir, '.storage', 'onboarding'), onboardingStorage());
    // The file the automation editor saves to, empty, as HA's default config has it: a suite
    // whose configuration has `automation: !include automations.yaml` starts with no automations.
    writeFileSync(join(this.configDir, 'automations.yaml'), '[]\n');
    cpSync(join(REPO_ROOT, 'custom_components', 'whatsapp'), join(this.configDir, 'custom_components', 'whatsapp'), {
      recursive: true,
      filter: (source) => !source.includes('__pycache__'),
    });
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get logPath(): string {
    return this.process?.logPath ?? join(this.logDir, 'home-assistant-1.log');
  }

  logTail(lines?: number): string {
    return this.process?.logTail(lines) ?? '(Home Assistant was not started)';
  }

  /** Starts HA and waits until its HTTP server answers. */
  async start(): Promise<void> {
    if (this.running) throw new Error('Home Assistant is already running');
    this.starts += 1;
    // --skip-pip: everything is installed in the environment, and HA must not reach PyPI at start.
    const ha = ManagedProcess.start('Home Assistant', {
      command: this.python,
      args: ['-m', 'homeassistant', '--config', this.configDir, '--skip-pip'],
      logPath: join(this.logDir, `home-assistant-${this.starts}.log`),
      cwd: this.configDir,
    });
    this.process = ha;
    await waitFor(
      `Home Assistant to answer at ${this.baseUrl}`,
      async () => {
        if (!ha.running) throw new GiveUpError(`Home Assistant exited during start-up (see ${ha.logPath}):\n${ha.logTail()}`);
        // Any HTTP answer means the server is up; before onboarding this view answers 200.
        const response = await this.rest.request('GET', '/api/onboarding', { authenticated: false });
        await response.arrayBuffer();
        return true;
      },
      { timeoutMs: HA_START_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  /** Waits until HA reports itself RUNNING (every integration set up). */
  async waitUntilRunning(token: string): Promise<void> {
    const rest = this.rest.withToken(token);
    await waitFor(
      'Home Assistant to be RUNNING',
      async () => ((await rest.getJson<{ state: string }>('/api/config')).state === RUNNING_STATE ? true : undefined),
      { timeoutMs: HA_START_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  /**
   * Since 2026.x HA moves `http:` settings from YAML into storage as a trial that it reverts (and
   * restarts on the default port 8123) unless an admin confirms it within 5 minutes; the frontend
   * shows a "Confirm new HTTP server configuration" dialog. Confirm it as the owner would.
   */
  async confirmHttpConfig(token: string): Promise<void> {
    const socket = await HaWebSocket.connect(this.baseUrl, token);
    try {
      const outcome = await socket.send({ type: 'http/config/promote' });
      // `not_allowed` means there is nothing pending: the settings are already confirmed.
      if (!outcome.success && outcome.error.code !== 'not_allowed') {
        throw new Error(`confirming the HTTP settings failed: ${outcome.error.code}: ${outcome.error.message}`);
      }
    } finally {
      await socket.close();
    }
  }

  /** SIGTERM, as the Supervisor or systemd would stop it, then waits for it to save and exit. */
  async stop(): Promise<void> {
    await this.process?.stop(HA_STOP_GRACE_MS);
  }
}
