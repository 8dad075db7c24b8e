// Media → WhatsApp on a real Home Assistant with the demo worker's 3,500-contact simulated account:
// browsed over HA's own websocket (media_source/browse_media, as the panel does) and in a real
// Chromium (screenshot docs/media.png), one picture opened (the bytes are the worker's file);
// searched over the websocket (media_source/search_media) and with the panel's own search field
// (screenshot docs/media-search.png), a found picture opened; the storage sensor, and
// whatsapp.purge_avatars with return_response removing a picture nobody uses.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as assert from 'uvu/assert';
import { HaBrowser } from './support/browser.js';
import { entityIdOf } from './support/entities.js';
import { DOCS_DIR, INTEGRATION_DIR } from './support/paths.js';
import { environmentSuite } from './support/suite.js';
import { waitFor } from './support/wait.js';
import { storedPicturePath } from './support/worker.js';
import { databasePath } from '../worker/src/store/database.js';

const CONTACTS = 3_500;
// The first pass over the account, quicker than the other suites' 0.05 s so that 3,500 contacts
// take about a minute, not ten (the simulated rate-limit pauses scale with the interval).
const INTERVAL_SECONDS = 0.01;
const PICTURES_TIMEOUT_MS = 600_000;
const BROWSER_TIMEOUT_MS = 60_000;
const MEDIA_ROOT = 'media-source://whatsapp';
const SCREENSHOT = join(DOCS_DIR, 'media.png');
const SEARCH_SCREENSHOT = join(DOCS_DIR, 'media-search.png');
// Typed as a person types it: no accents, lower case, two words (the contacts are "Chloé García").
const SEARCH_TYPED = 'chloe garcia';
// One word that many contacts share: more than a screen, fewer or more than the cap.
const SEARCH_ONE_WORD = 'chloe';
// The Media panel's search cap, read from where the integration defines it, so the two cannot drift.
const SEARCH_RESULTS_MAX = integrationConstant('media_source.py', 'SEARCH_RESULTS_MAX');
// A JID the simulated account does not have: its picture is what purge_avatars removes.
const STRANGER = '491999999999@s.whatsapp.net';

interface SearchAnswer {
  result: MediaNode[];
}

interface MediaNode {
  title: string;
  media_content_id: string;
  media_class: string;
  can_expand: boolean;
  can_play: boolean;
  thumbnail: string | null;
  children?: MediaNode[];
}

const { e2e, environment } = environmentSuite('Media → WhatsApp and the picture purge', 'media', { chromium: true });

/** A whole-number constant of an integration module (`NAME = 1_000` at the start of a line). */
function integrationConstant(file: string, name: string): number {
  const source = readFileSync(join(INTEGRATION_DIR, file), 'utf8');
  const match = new RegExp(`^${name} = ([0-9_]+)$`, 'm').exec(source);
  if (match === null) throw new Error(`${file} defines no whole-number ${name}`);
  return Number(match[1]!.replaceAll('_', ''));
}

/** A title as the search compares it: accents folded, case ignored (name_search.fold). */
function folded(title: string): string {
  return title.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().split(/\s+/).filter(Boolean).join(' ');
}

/** How many thumbnails of WhatsApp pictures the page shows now, shadow roots included. */
async function thumbnailsShown(page: HaBrowser['page']): Promise<number> {
  return page.evaluate(() => {
    // The panel's cards carry their thumbnail as a background image (ha-media-player-browse.ts),
    // or an img. A thumbnail on HA's own API needs the login, so the panel fetches it itself
    // and shows it as a data: URL (its _getThumbnailURLorBase64).
    let shown = 0;
    const walk = (root: { querySelectorAll(selector: string): ArrayLike<unknown> }): void => {
      for (const element of Array.from(root.querySelectorAll('*')) as { style?: { backgroundImage?: string }; src?: unknown; shadowRoot?: unknown }[]) {
        const url = typeof element.src === 'string' ? element.src : element.style?.backgroundImage;
        if (url?.includes('/api/whatsapp/picture/') || url?.includes('data:image/jpeg;base64,')) shown++;
        if (element.shadowRoot) walk(element.shadowRoot as { querySelectorAll(selector: string): ArrayLike<unknown> });
      }
    };
    walk((globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<unknown> } }).document);
    return shown;
  });
}

/** Every picture under a folder, walking initials and pages as a person would. */
async function picturesUnder(browse: (id: string) => Promise<MediaNode>, node: MediaNode): Promise<MediaNode[]> {
  const found: MediaNode[] = [];
  for (const child of node.children ?? []) {
    if (child.can_expand) found.push(...(await picturesUnder(browse, await browse(child.media_content_id))));
    else found.push(child);
  }
  return found;
}

e2e('a 3,500-contact account browses by name, opens a picture, and purges what nobody uses', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    const browse = (id: string): Promise<MediaNode> => ws.command<MediaNode>({ type: 'media_source/browse_media', media_content_id: id });
    const dataDir = world.path('worker-data');
    mkdirSync(dataDir);
    world.startWorker('worker', dataDir, { contacts: CONTACTS, intervalSeconds: INTERVAL_SECONDS });
    // The favourites picker asks for a search above 1,000 subjects, so the worker's own files say
    // what there is: the first pass is over when the queue is empty and Media lists every picture.
    const queueLength = await entityIdOf(ws, `${world.entryId}_queue_length`);
    const avatarsDir = join(dataDir, 'media', 'avatars');
    const filesOnDisk = (): string[] => (existsSync(avatarsDir) ? readdirSync(avatarsDir).filter((name) => /^[0-9-]+@(s\.whatsapp\.net|lid|g\.us)\.jpg$/.test(name)).map((name) => name.slice(0, -4)) : []);
    const firstPassStarted = performance.now();
    await waitFor(
      'the first pass over the simulated account to finish (queue empty, more than 1,000 pictures)',
      async () => {
        const queue = await world.state(queueLength);
        const files = filesOnDisk().length;
        if (queue?.state !== '0' || files <= 1_000) throw new Error(`queue ${queue?.state}, ${files} pictures on disk`);
        return files;
      },
      { timeoutMs: PICTURES_TIMEOUT_MS, intervalMs: 2_000 },
    );
    process.stderr.write(`e2e: the worker's first pass over ${CONTACTS} contacts took ${Math.round((performance.now() - firstPassStarted) / 1000)} s\n`);
    // What Media must list: the contacts whose picture the worker holds and shows (not hidden), from its database.
    const workerDb = new Database(databasePath(dataDir), { readonly: true, fileMustExist: true });
    const contactFiles = (workerDb.prepare(`SELECT jid FROM contacts WHERE picture_state = 'fetched' AND profile_picture IS NOT NULL`).all() as { jid: string }[]).map((row) => row.jid);
    const keptFiles = (workerDb.prepare(`SELECT (SELECT COUNT(*) FROM contacts WHERE profile_picture IS NOT NULL) + (SELECT COUNT(*) FROM chats WHERE kind = 'group' AND profile_picture IS NOT NULL) AS n`).get() as { n: number }).n;
    workerDb.close();
    for (const jid of contactFiles) assert.ok(existsSync(storedPicturePath(dataDir, jid)), `${jid}'s file is on disk`);
    // What a person sees first: the account's contacts and groups, apart, by name.
    const started = performance.now();
    const root = await browse(MEDIA_ROOT);
    const contactsFolder = root.children?.find((child) => child.title.startsWith('Contacts'));
    const groupsFolder = root.children?.find((child) => child.title.startsWith('Groups'));
    assert.ok(contactsFolder && groupsFolder, `contacts and groups apart: ${JSON.stringify(root.children?.map((child) => child.title))}`);
    const contacts = await browse(contactsFolder.media_content_id);
    const firstLetter = contacts.children?.[0];
    assert.ok(firstLetter, 'the contacts folder is not empty');
    const firstPage = firstLetter.can_expand ? await browse(firstLetter.media_content_id) : contacts;
    const listedMs = performance.now() - started;
    process.stderr.write(`e2e: Media → WhatsApp → ${contactsFolder.title} → ${firstLetter.title}: ${firstPage.children?.length} names in ${Math.round(listedMs)} ms\n`);

    const everyContact = await picturesUnder(browse, contacts);
    assert.is(everyContact.length, contactFiles.length, 'every contact with a picture is listed, once');
    const jidOf = (node: MediaNode): string => node.media_content_id.split('/picture/')[1]!;
    assert.equal([...everyContact.map(jidOf)].sort(), [...contactFiles].sort(), 'exactly those with a picture on the worker');
    const named = everyContact.filter((node) => !node.title.startsWith('+'));
    assert.ok(named.length > 0, 'contacts show by name');
    for (const node of everyContact) {
      assert.ok(node.thumbnail?.startsWith('/api/whatsapp/picture/'), `${node.title} has a thumbnail`);
      assert.is(node.media_class, 'image');
    }
    const groups = await picturesUnder(browse, await browse(groupsFolder.media_content_id));
    assert.ok(groups.length > 0 && groups.every((node) => jidOf(node).endsWith('@g.us')), 'groups stay apart');

    // One picture, opened as the panel does: resolve, then the signed URL; the bytes are the worker's file.
    const picked = named[0]!;
    const resolved = await ws.command<{ url: string; mime_type: string }>({ type: 'media_source/resolve_media', media_content_id: picked.media_content_id });
    assert.is(resolved.mime_type, 'image/jpeg');
    const served = await world.rest.getBytes(resolved.url);
    assert.is(served.status, 200);
    assert.is(served.contentType, 'image/jpeg');
    assert.ok(served.bytes.equals(readFileSync(storedPicturePath(dataDir, jidOf(picked)))), 'the served picture is the worker\'s file, byte for byte');
    assert.ok(served.bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), 'a JPEG');

    // The same in Chromium: the Media panel, WhatsApp, Contacts, thumbnails, one picture opened.
    browser = await HaBrowser.launch(world.path('chromium-profile'));
    await browser.logIn(world.haUrl, world.owner);
    await browser.page.goto(`${world.haUrl}/media-browser/browser`);
    // The panel's own browser, visible text only: each card repeats its title in a hidden tooltip.
    const panel = browser.page.locator('ha-media-player-browse');
    await panel.getByText('WhatsApp').visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    await panel.getByText(contactsFolder.title).visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    if (firstLetter.can_expand) await panel.getByText(firstLetter.title).visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    const firstName = firstPage.children![0]!.title;
    await panel.getByText(firstName).visible().first().waitFor({ timeout: BROWSER_TIMEOUT_MS });
    await waitFor(
      'the thumbnails to load in the panel',
      async () => {
        const loaded = await thumbnailsShown(browser!.page);
        if (loaded === 0) throw new Error('no thumbnail shown yet');
        return loaded;
      },
      { timeoutMs: BROWSER_TIMEOUT_MS, intervalMs: 250 },
    );
    await browser.settle();
    mkdirSync(DOCS_DIR, { recursive: true });
    await browser.page.screenshot({ path: SCREENSHOT });
    await panel.getByText(firstName).visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    const opened = await waitFor(
      'the opened picture to load',
      async () => {
        const images = await browser!.images('home-assistant', '/api/whatsapp/picture/');
        const loaded = images.filter((img) => img.complete && img.naturalWidth > 0);
        if (loaded.length === 0) throw new Error(`not loaded: ${JSON.stringify(images)}`);
        return loaded;
      },
      { timeoutMs: BROWSER_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.ok(opened[0]!.naturalWidth > 0, 'the picture shows in the panel');

    // Search, as the panel sends it (media_source/search_media for the folder it shows): names
    // without accents or case, every word; only listed pictures, each with its thumbnail.
    const search = (id: string, query: string): Promise<SearchAnswer> => ws.command<SearchAnswer>({ type: 'media_source/search_media', media_content_id: id, search_query: query });
    const holding = (words: string): MediaNode[] => everyContact.filter((node) => words.split(' ').every((word) => folded(node.title).includes(word)));
    const searchStarted = performance.now();
    const typedAnswer = (await search(contactsFolder.media_content_id, SEARCH_TYPED)).result;
    process.stderr.write(`e2e: search "${SEARCH_TYPED}" in ${contactsFolder.title}: ${typedAnswer.length} found in ${Math.round(performance.now() - searchStarted)} ms\n`);
    const typedExpected = holding(SEARCH_TYPED);
    assert.ok(typedExpected.length > 0, `the simulated account has contacts named like "${SEARCH_TYPED}"`);
    assert.equal(typedAnswer.map(jidOf).sort(), typedExpected.map(jidOf).sort(), `"${SEARCH_TYPED}" finds exactly the listed contacts whose name holds both words`);
    for (const node of typedAnswer) {
      assert.ok(node.thumbnail?.startsWith('/api/whatsapp/picture/'), `${node.title} has a thumbnail`);
      assert.ok(node.can_play && !node.can_expand, `${node.title} opens as a picture`);
    }
    const oneWord = (await search(contactsFolder.media_content_id, SEARCH_ONE_WORD)).result;
    const oneWordExpected = holding(SEARCH_ONE_WORD);
    assert.is(oneWord.length, Math.min(SEARCH_RESULTS_MAX, oneWordExpected.length), `"${SEARCH_ONE_WORD}": every match, at most the cap`);
    const oneWordIds = new Set(oneWordExpected.map(jidOf));
    assert.ok(oneWord.every((node) => oneWordIds.has(jidOf(node))), 'only matches');
    const startsAt = oneWord.map((node) => folded(node.title).startsWith(SEARCH_ONE_WORD));
    assert.ok(startsAt.indexOf(false) === -1 || startsAt.lastIndexOf(true) < startsAt.indexOf(false), 'names that start with it come first');
    // A phone number typed as people write it: +, country code, groups of digits.
    const numbered = named.find((node) => jidOf(node).endsWith('@s.whatsapp.net'))!;
    const digits = jidOf(numbered).split('@')[0]!;
    const typedNumber = `+${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`;
    const byNumber = (await search(MEDIA_ROOT, typedNumber)).result;
    assert.is(byNumber[0] && jidOf(byNumber[0]), jidOf(numbered), `"${typedNumber}" finds ${numbered.title} first`);
    // Never a hidden picture, even by its exact number.
    const hidden = new Database(databasePath(dataDir), { readonly: true, fileMustExist: true });
    const hiddenJid = (hidden.prepare(`SELECT jid FROM contacts WHERE picture_state = 'hidden' AND jid LIKE '%@s.whatsapp.net' LIMIT 1`).get() as { jid: string } | undefined)?.jid;
    hidden.close();
    assert.ok(hiddenJid, 'the simulated account has a contact who hides their picture');
    const hiddenAnswer = (await search(MEDIA_ROOT, `+${hiddenJid.split('@')[0]}`)).result;
    assert.not.ok(hiddenAnswer.some((node) => jidOf(node) === hiddenJid), 'a hidden picture is never found');

    // The same in Chromium, with the panel's own search field in Contacts: type, Enter, the found
    // pictures with their thumbnails, one opened.
    await browser.page.goto(`${world.haUrl}/media-browser/browser`);
    await panel.getByText('WhatsApp').visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    await panel.getByText(contactsFolder.title).visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    const searchField = panel.locator('ha-input-search input');
    await searchField.fill(SEARCH_TYPED, { timeout: BROWSER_TIMEOUT_MS });
    await searchField.press('Enter');
    const foundTitle = typedAnswer[0]!.title;
    await panel.getByText(foundTitle).visible().first().waitFor({ timeout: BROWSER_TIMEOUT_MS });
    await waitFor(
      `the ${typedAnswer.length} found pictures' thumbnails to load`,
      async () => {
        const loaded = await thumbnailsShown(browser!.page);
        if (loaded < typedAnswer.length) throw new Error(`${loaded} thumbnails shown`);
        return loaded;
      },
      { timeoutMs: BROWSER_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.is(await panel.getByText(foundTitle).visible().count(), typedAnswer.filter((node) => node.title === foundTitle).length, 'the panel shows what the search answered');
    await browser.settle();
    await browser.page.screenshot({ path: SEARCH_SCREENSHOT });
    await panel.getByText(foundTitle).visible().first().click({ timeout: BROWSER_TIMEOUT_MS });
    const foundOpened = await waitFor(
      'the found picture to open',
      async () => {
        const images = await browser!.images('home-assistant', `/api/whatsapp/picture/${world.entryId}/${jidOf(typedAnswer[0]!)}`);
        const loaded = images.filter((img) => img.complete && img.naturalWidth > 0);
        if (loaded.length === 0) throw new Error(`not loaded: ${JSON.stringify(images)}`);
        return loaded;
      },
      { timeoutMs: BROWSER_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.ok(foundOpened[0]!.naturalWidth > 0, 'the found picture shows in the panel');

    // Storage: a sensor with the bytes on disk.
    const storage = await entityIdOf(ws, `${world.entryId}_picture_storage`);
    const files = keptFiles;
    const storageState = await world.waitForState(storage, `to report ${files} pictures on disk`, (state) => state?.attributes.files === files, BROWSER_TIMEOUT_MS);
    assert.ok(Number(storageState?.state) > 0, `the bytes on disk: ${storageState?.state} ${storageState?.attributes.unit_of_measurement}`);

    // A picture nobody uses (a subject the account no longer has): purge_avatars removes it and says so.
    const strangerFile = storedPicturePath(dataDir, STRANGER);
    writeFileSync(strangerFile, readFileSync(storedPicturePath(dataDir, jidOf(picked))));
    const purged = await ws.callService<{ files_removed: number; bytes_removed: number }>('whatsapp', 'purge_avatars', {});
    assert.ok(purged.success, JSON.stringify(purged));
    assert.equal(purged.result, { files_removed: 1, bytes_removed: served.bytes.length });
    assert.not.ok(existsSync(strangerFile), 'the unused picture is gone');
    assert.ok(existsSync(storedPicturePath(dataDir, jidOf(picked))), 'a listed contact\'s picture stays');
  } catch (error) {
    world.reportLogs();
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
