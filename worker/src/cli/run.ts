// `whatsapp-worker run`: the real account, linked as a WhatsApp device through Baileys.

import { seededRandom } from '../clock.js';
import { DEFAULT_DOWNLOAD_SETTINGS } from '../cdn/download.js';
import { DEFAULT_TTL_SETTINGS } from '../avatars/transitions.js';
import { createLogger } from '../logger.js';
import { BaileysAccount } from '../wa/baileys/account.js';
import { PICTURE_TYPES, type PictureType } from '../wa/baileys/picture-query.js';
import { phoneNumberDigits } from '../phone-number.js';
import type { Command } from './main.js';
import { avatarsDirectory, COMMON_OPTIONS, dataDirectory, logFormat, logLevel, rateSettings, UsageError } from './options.js';
import { runWorker } from './compose.js';
import { systemClock } from '../clock.js';


export const runCommand: Command = {
  usage: [
    'Usage: whatsapp-worker run --data DIR [options]',
    '',
    'Links to a phone as a WhatsApp device (a QR in the terminal, or a pairing code with --phone),',
    'then checks every contact\'s and group\'s picture, politely: one query at a time, seconds apart,',
    'pausing the whole queue when WhatsApp says rate-overlimit.',
    '',
    'Options:',
    '  --data DIR            the data folder: database and, by default, pictures (required)',
    '  --avatars DIR         where pictures go (default DIR/media/avatars)',
    '  --interval SECONDS    minimum gap between picture queries, at least 2 (default 3)',
    '  --hourly-cap N        at most N picture queries per hour (default 900)',
    '  --quiet-period SECONDS  wait after each connect before the first query (default 60)',
    '  --picture-type TYPE   image (full size) or preview (small) (default image)',
    '  --phone NUMBER        link with a pairing code for this phone number instead of a QR',
    '  --ha-url URL          Home Assistant, e.g. http://homeassistant.local:8123, with a',
    '                        long-lived access token in WHATSAPP_HA_TOKEN (in the add-on the',
    '                        Supervisor proxy and SUPERVISOR_TOKEN are used by themselves)',
    '  --log-level LEVEL     trace, debug, info, warning or error (default info)',
    '  --log-format FORMAT   pretty (one readable line per event) or json (JSON lines); default',
    '                        pretty on a terminal and in the app, json otherwise',
    '',
    'Environment:',
    '  WHATSAPP_WEB_SOCKET_URL  WhatsApp\'s websocket, if not Baileys\' default (tests point it at',
    '                        an address that does not answer, to see what Home Assistant shows then)',
  ].join('\n'),
  options: {
    ...COMMON_OPTIONS,
    'picture-type': { type: 'string' },
    phone: { type: 'string' },
  },
  async execute(flags) {
    const dataDir = dataDirectory(flags);
    const rate = rateSettings(flags, { allowFastInterval: false });
    const pictureType = typeof flags['picture-type'] === 'string' ? flags['picture-type'] : 'image';
    if (!(PICTURE_TYPES as readonly string[]).includes(pictureType)) {
      throw new UsageError(`--picture-type must be image or preview; got '${pictureType}'`);
    }
    const phone = typeof flags.phone === 'string' ? phoneNumberDigits(flags.phone) : undefined;
    if (typeof flags.phone === 'string' && phone === undefined) {
      throw new UsageError('--phone must be a phone number in international form, e.g. +491701234567');
    }
    const webSocketUrl = process.env.WHATSAPP_WEB_SOCKET_URL?.trim() || undefined;
    if (webSocketUrl !== undefined && !/^wss?:\/\//.test(webSocketUrl)) {
      throw new UsageError(`WHATSAPP_WEB_SOCKET_URL must be a ws:// or wss:// URL; got '${webSocketUrl}'`);
    }
    const logger = createLogger(logLevel(flags), undefined, undefined, logFormat(flags));
    const random = seededRandom(Date.now());
    return runWorker({
      dataDir,
      makeAccount: (db) =>
        new BaileysAccount({
          db,
          logger: logger.child({ component: 'whatsapp' }),
          clock: systemClock,
          random,
          phoneNumber: phone,
          pictureType: pictureType as PictureType,
          printQrInTerminal: process.stdout.isTTY === true,
          ...(webSocketUrl === undefined ? {} : { webSocketUrl }),
        }),
      avatarsDir: avatarsDirectory(flags, dataDir),
      download: DEFAULT_DOWNLOAD_SETTINGS,
      rate,
      ttl: DEFAULT_TTL_SETTINGS,
      random,
      logger,
      haUrl: typeof flags['ha-url'] === 'string' ? flags['ha-url'] : undefined,
      exitWhenIdle: false,
    });
  },
};
