// A Home Assistant person linked to a WhatsApp contact, on a real HA with the demo worker: the
// person's picture is the contact's current WhatsApp picture (an image_upload item, served at
// /api/image/serve/…), and when the simulated contact changes their picture the person's picture
// follows within seconds, the old upload deleted. Chromium shows the person in HA's People
// settings; that screenshot becomes docs/person.png. The same contact, made a favourite before its
// change, runs an automation made from the blueprint (blueprints/automation/whatsapp, put in HA's
// config as an import puts it) with notify's persistent_notification: the notification names the
// favourite and carries the picture, and the automation editor with the blueprint's inputs
// becomes docs/blueprint.png.

import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { demoPopulationOptions } from '../worker/src/cli/demo.js';
import { ODD_ANSWERS, SimulatedPopulation } from '../worker/src/sim/population.js';
import { HaBrowser } from './support/browser.js';
import { entityIdOf, pictureUniqueId } from './support/entities.js';
import { setFavourites } from './support/integration.js';
import { DOCS_DIR, REPO_ROOT } from './support/paths.js';
import { waitFor } from './support/wait.js';
import { DEMO_CONTACTS, storedPicturePath } from './support/worker.js';
import { ManagedProcess } from './support/processes.js';
import { WORKER_BIN } from './support/paths.js';
import { environmentSuite } from './support/suite.js';

const PERSON_SCREENSHOT = join(DOCS_DIR, 'person.png');
const DEVICE_TRIGGER_SCREENSHOT = join(DOCS_DIR, 'device-trigger.png');
const AUTOMATION_ID = 'whatsapp_picture_changed';
const BLUEPRINT_SCREENSHOT = join(DOCS_DIR, 'blueprint.png');
const BLUEPRINT_PATH = 'whatsapp/favourite_picture_changed.yaml';
const BLUEPRINT_AUTOMATION_ID = 'whatsapp_blueprint';
// The notifier that the test can read back: notify's own persistent_notification action, which
// takes the blueprint's `data` (homeassistant/components/notify/services.py, 2026.10.4) and shows
// the message in HA's notifications, where markdown shows the picture.
const BLUEPRINT_NOTIFY_ACTION = 'notify.persistent_notification';
const BLUEPRINT_MESSAGE = '{{ name }} has a new profile picture ![]({{ picture }})';
// The whole demo pass takes seconds at the e2e interval; generous for a busy machine.
const PICTURE_TIMEOUT_MS = 60_000;
const PAGE_TIMEOUT_MS = 60_000;
const SERVE_PATH = '/api/image/serve/';
// Slower than the other e2e files' demo (0.05 s): the simulated change comes at the account's
// 10th picture query, which must be after the worker heard of the link from HA (it connects to
// HA and to the simulated WhatsApp at once) and fetched the contact's first picture.
const INTERVAL_SECONDS = 0.5;

/** The upload's id in a person's `picture` (`/api/image/serve/<id>/<size>`). */
function uploadId(picture: string): string {
  return picture.split('/')[4] ?? '';
}

interface DeviceItem { readonly id: string; readonly identifiers: [string, string][]; readonly name: string | null }
interface TriggerItem { readonly domain: string; readonly type: string; readonly device_id: string }
interface PersonItem { readonly id: string; readonly name: string; readonly picture?: string | null }
interface NotificationItem { readonly notification_id: string; readonly title: string | null; readonly message: string }
interface TraceStep { readonly result?: { readonly params?: { readonly domain: string; readonly service: string; readonly service_data: Record<string, unknown> } } }

const { e2e, environment } = environmentSuite('a person whose picture follows a WhatsApp contact', 'person', { chromium: true, configuration: 'notify:\nautomation: !include automations.yaml\n' });

e2e('the linked person shows the contact picture and follows its change', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    // The simulated account's one contact who changes their picture during the demo's first pass
    // (the same population the demo worker builds from its seed).
    const population = new SimulatedPopulation({ ...demoPopulationOptions(DEMO_CONTACTS, 1), oddAnswers: ODD_ANSWERS });
    const change = population.changes.find((candidate) => !candidate.removed && candidate.jid.endsWith('@s.whatsapp.net'));
    assert.ok(change, 'the simulated account has a contact who changes their picture');
    const jid = change.jid;
    const typedNumber = `+${jid.slice(0, 2)} ${jid.slice(2, jid.indexOf('@'))}`;

    const ws = await world.connect();
    const person = await ws.command<PersonItem>({ type: 'person/create', name: 'Linked Friend' });
    const personEntity = 'person.linked_friend';
    // Linked before the worker starts: its first picture of the contact is the baseline, and the
    // change comes later in the same pass (a linked contact is fetched first, like a favourite).
    const linked = await ws.callService('whatsapp', 'link_person', { person: personEntity, contact: typedNumber });
    assert.equal(linked, { success: true, result: { jid } }, `link_person accepted ${typedNumber}`);

    // The blueprint, where an import puts it, and an automation made from it as the editor saves
    // one, before the worker starts: it runs on any favourite's real change.
    const blueprintTarget = world.path('ha-config', 'blueprints', 'automation', BLUEPRINT_PATH);
    mkdirSync(join(blueprintTarget, '..'), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'blueprints', 'automation', BLUEPRINT_PATH), blueprintTarget);
    await world.rest.postJson(`/api/config/automation/config/${BLUEPRINT_AUTOMATION_ID}`, {
      alias: 'WhatsApp favourite picture',
      description: '',
      use_blueprint: { path: BLUEPRINT_PATH, input: { notify_action: BLUEPRINT_NOTIFY_ACTION, message: BLUEPRINT_MESSAGE } },
    });
    // HA names an automation's entity after its alias.
    await world.waitForState('automation.whatsapp_favourite_picture', 'to be on', (state) => state?.state === 'on', PICTURE_TIMEOUT_MS);

    const dataDir = world.path('worker-data');
    world.track(
      ManagedProcess.start('worker', {
        command: process.execPath,
        args: [WORKER_BIN, 'demo', '--data', dataDir, '--contacts', String(DEMO_CONTACTS), '--interval', String(INTERVAL_SECONDS), '--ha-url', world.haUrl],
        env: { ...process.env, WHATSAPP_HA_TOKEN: world.token, WHATSAPP_HA_URL: undefined, SUPERVISOR_TOKEN: undefined },
        logPath: world.path('worker.log'),
      }),
    );
    // The contact is made a favourite as soon as the worker reported its directory, seconds before
    // the change (the 10th query): its first picture is the baseline, and the change a real one.
    await waitFor(
      'the contact to be made a favourite',
      async () => {
        await setFavourites(world.rest, world.entryId, [jid]);
        return true;
      },
      { timeoutMs: PICTURE_TIMEOUT_MS, intervalMs: 250 },
    );
    const seen: string[] = [];
    const finalBytes = await waitFor(
      'the person to show the contact picture the worker ended with',
      async () => {
        const picture = (await world.state(personEntity))?.attributes.entity_picture;
        if (typeof picture === 'string' && !seen.includes(picture)) seen.push(picture);
        const stored = storedPicturePath(dataDir, jid);
        if (typeof picture !== 'string' || !existsSync(stored)) throw new Error(`person picture ${String(picture)}`);
        // The original bytes (a `<w>x<h>` size is a thumbnail Pillow made from them).
        const served = await world.rest.getBytes(`${SERVE_PATH}${uploadId(picture)}/original`);
        const expected = readFileSync(stored);
        // The change must have shown: a second upload, serving what the worker ended with.
        if (seen.length < 2 || served.status !== 200 || !served.bytes.equals(expected)) {
          throw new Error(`pictures seen ${JSON.stringify(seen)}; served ${served.status}, ${served.bytes.length} bytes; the worker holds ${expected.length}`);
        }
        return { picture, bytes: served.bytes };
      },
      { timeoutMs: PICTURE_TIMEOUT_MS, intervalMs: 100 },
    );
    assert.ok(finalBytes.picture.startsWith(SERVE_PATH), `the picture is an image upload: ${finalBytes.picture}`);
    // The picture changed on the way: the first upload gave way to the changed one.
    assert.ok(seen.length >= 2, `the person's picture changed with the contact's: ${JSON.stringify(seen)}`);
    const firstId = uploadId(seen[0]!);
    const gone = await world.rest.getBytes(`${SERVE_PATH}${firstId}/original`);
    assert.is(gone.status, 404, 'the first upload was deleted when the picture changed');
    const uploads = await ws.command<{ id: string }[]>({ type: 'image/list' });
    assert.equal(uploads.map((item) => item.id), [uploadId(finalBytes.picture)], 'one upload: the current picture');
    const people = await ws.command<{ storage: PersonItem[] }>({ type: 'person/list' });
    assert.is(people.storage.find((item) => item.id === person.id)?.picture, finalBytes.picture, 'the person collection holds it');

    // What a person sees: HA's People settings, with the picture on the person's card.
    browser = await HaBrowser.launch(world.path('chromium-profile'));
    await browser.logIn(world.haUrl, world.owner);
    // The People page shows a person's picture as the badge's background image (frontend's
    // src/components/entity/ha-person-badge.ts), so the check is the badge's style plus the
    // browser's own 200 for that upload.
    const loadedUploads = new Set<string>();
    browser.page.on('response', (response) => {
      if (response.status() === 200 && response.url().includes(SERVE_PATH)) loadedUploads.add(uploadId(new URL(response.url()).pathname));
    });
    await browser.page.goto(`${world.haUrl}/config/person`);
    const shownId = uploadId(finalBytes.picture);
    await waitFor(
      'the person card to show the picture',
      async () => {
        const styles = await browser!.page.locator('ha-person-badge .picture').evaluateAll((elements) =>
          // The browser's HTMLElement; this package compiles without the DOM types.
          (elements as unknown as { style: { backgroundImage: string } }[]).map((element) => element.style.backgroundImage),
        );
        if (!styles.some((style) => style.includes(shownId)) || !loadedUploads.has(shownId)) {
          throw new Error(`badges ${JSON.stringify(styles)}, loaded ${JSON.stringify([...loadedUploads])}`);
        }
        return styles;
      },
      { timeoutMs: PAGE_TIMEOUT_MS, intervalMs: 250 },
    );
    await browser.settle();
    await browser.page.screenshot({ path: PERSON_SCREENSHOT });

    // The blueprint's notification: the favourite's change, named and with its picture.
    const pictureEntity = await entityIdOf(ws, pictureUniqueId(jid));
    const favouriteDevice = (await ws.command<DeviceItem[]>({ type: 'config/device_registry/list' })).find((item) => item.identifiers.some(([domain, id]) => domain === 'whatsapp' && id === jid));
    const favouriteName = favouriteDevice?.name ?? '';
    assert.ok(favouriteName !== '', `the favourite's device has a name: ${JSON.stringify(favouriteDevice)}`);
    const notification = await waitFor(
      "the blueprint's notification",
      async () => {
        const all = await ws.command<NotificationItem[]>({ type: 'persistent_notification/get' });
        const found = all.find((item) => item.message.includes('has a new profile picture'));
        if (found === undefined) throw new Error(`notifications: ${JSON.stringify(all)}`);
        return found;
      },
      { timeoutMs: PICTURE_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.is(notification.title, 'WhatsApp', "the blueprint's default title");
    assert.ok(notification.message.startsWith(`${favouriteName} has a new profile picture`), `the notification names the favourite: ${notification.message}`);
    assert.ok(notification.message.includes(`/api/image_proxy/${pictureEntity}`), `the notification carries the favourite's picture: ${notification.message}`);
    // What the automation called: the notify action with the picture in `data.image`, from its trace.
    const traces = await ws.command<{ run_id: string }[]>({ type: 'trace/list', domain: 'automation', item_id: BLUEPRINT_AUTOMATION_ID });
    const favouriteChanges = population.changes.filter((candidate) => candidate.jid === jid && !candidate.removed).length;
    assert.is(traces.length, favouriteChanges, 'the automation ran for each change, not for the first picture');
    const trace = await ws.command<{ trace: Record<string, TraceStep[]> }>({ type: 'trace/get', domain: 'automation', item_id: BLUEPRINT_AUTOMATION_ID, run_id: traces[0]!.run_id });
    const call = Object.values(trace.trace).flat().map((step) => step.result?.params).find((params) => params?.domain === 'notify');
    assert.is(call?.service, 'persistent_notification', JSON.stringify(trace.trace));
    assert.match(String((call?.service_data.data as { image?: unknown } | undefined)?.image), `/api/image_proxy/${pictureEntity}`);

    // The automation editor shows the blueprint and its inputs.
    await browser.page.goto(`${world.haUrl}/config/automation/edit/${BLUEPRINT_AUTOMATION_ID}`);
    // The blueprint's own description, then each of its inputs by name.
    await browser.page.getByText('When a WhatsApp favourite changes their profile picture').first().waitFor({ timeout: PAGE_TIMEOUT_MS });
    for (const input of ['Notify action', 'Title', 'Message', 'Only these favourites']) {
      await browser.page.getByText(input, { exact: true }).first().waitFor({ timeout: PAGE_TIMEOUT_MS });
    }
    await browser.settle();
    await browser.page.screenshot({ path: BLUEPRINT_SCREENSHOT });

    // The same contact, a favourite: its device offers the picture triggers in the automation
    // editor (device_automation/trigger/list is what the editor asks), and an automation on it
    // shows the trigger by its translated name.
    await entityIdOf(ws, pictureUniqueId(jid));
    const devices = await ws.command<DeviceItem[]>({ type: 'config/device_registry/list' });
    const device = devices.find((item) => item.identifiers.some(([domain, id]) => domain === 'whatsapp' && id === jid));
    assert.ok(device, `the favourite ${jid} has a device`);
    const triggers = await ws.command<TriggerItem[]>({ type: 'device_automation/trigger/list', device_id: device.id });
    const ours = triggers.filter((trigger) => trigger.domain === 'whatsapp');
    assert.equal(ours.map((trigger) => trigger.type).sort(), ['picture_changed', 'picture_removed'], 'the picture triggers are offered');
    const changed = ours.find((trigger) => trigger.type === 'picture_changed')!;
    await world.rest.postJson(`/api/config/automation/config/${AUTOMATION_ID}`, {
      alias: 'New WhatsApp picture',
      description: '',
      triggers: [changed],
      conditions: [],
      actions: [{ action: 'persistent_notification.create', data: { message: 'A new WhatsApp picture' } }],
      mode: 'single',
    });
    await browser.page.goto(`${world.haUrl}/config/automation/edit/${AUTOMATION_ID}`);
    await browser.page.getByText('Profile picture changed').first().waitFor({ timeout: PAGE_TIMEOUT_MS });
    // A device trigger has no entity: a string with {entity_name} would read "<unknown entity>".
    assert.is(await browser.page.getByText('<unknown entity>').count(), 0, 'the trigger reads without an entity name');
    await browser.settle();
    await browser.page.screenshot({ path: DEVICE_TRIGGER_SCREENSHOT });


    // Unlinked: the upload goes and the person has no picture again (it had none before).
    const unlinked = await ws.callService('whatsapp', 'unlink_person', { person: personEntity });
    assert.equal(unlinked, { success: true, result: { jid } }, 'unlink_person names the contact');
    assert.is((await world.state(personEntity))?.attributes.entity_picture, undefined, 'no picture after unlinking');
    assert.equal(await ws.command({ type: 'image/list' }), [], 'the upload is deleted');
  } catch (error) {
    world.reportLogs();
    await browser?.page.screenshot({ path: world.path('failure.png') }).catch(() => undefined);
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
