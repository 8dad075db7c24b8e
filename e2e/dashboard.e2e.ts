// docs/dashboard.md's example dashboard in a real Home Assistant, seen through a real headless
// Chromium logged in with HA's own login form: every avatar picture on it loads, and the
// screenshot becomes docs/dashboard.png. Then what a user sees when something is away: a
// favourite without a picture shows the placeholder, and with the worker stopped every card still
// shows its last picture.

import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { demoPopulationOptions } from '../worker/src/cli/demo.js';
import { HaBrowser } from './support/browser.js';
import { DASHBOARD_SCREENSHOT, dashboardExample, entitiesIn, replaceEntities } from './support/dashboard.js';
import { entityIdOf, pictureUniqueId } from './support/entities.js';
import { favouriteChoices, setFavourites } from './support/integration.js';
import { waitFor } from './support/wait.js';
import { DEMO_CONTACTS, storedPicturePath } from './support/worker.js';
import { environmentSuite } from './support/suite.js';

const FIRST_PASS_TIMEOUT_MS = 90_000;
const LIVENESS_TIMEOUT_MS = 30_000;
// The frontend loads the pictures after its own start-up; generous for a cold browser cache.
const PICTURES_TIMEOUT_MS = 60_000;
// Must contain a hyphen (HA's rule for dashboard URLs).
const DASHBOARD_URL_PATH = 'whatsapp-favourites';
const IMAGE_PROXY_PATH = '/api/image_proxy/';
const NO_PICTURE_URL_PATH = 'whatsapp-no-picture';

/** Waits until every picture on the page has loaded (at least `count`, one per entity) and returns them. */
async function waitForLoadedPictures(browser: HaBrowser, entityIds: readonly string[], count = entityIds.length): Promise<{ src: string; naturalWidth: number }[]> {
  return waitFor(
    `${count} pictures of ${entityIds.join(', ')} to load`,
    async () => {
      const found = await browser.images('hui-root', IMAGE_PROXY_PATH);
      const loaded = found.filter((img) => img.complete && img.naturalWidth > 0);
      const missing = entityIds.filter((entityId) => !loaded.some((img) => img.src.includes(`${IMAGE_PROXY_PATH}${entityId}?`)));
      if (found.length < count || loaded.length !== found.length || missing.length > 0) {
        throw new Error(`${loaded.length} loaded of ${found.length} found, not shown: ${missing.join(', ')}: ${JSON.stringify(found)}`);
      }
      return loaded;
    },
    { timeoutMs: PICTURES_TIMEOUT_MS, intervalMs: 250 },
  );
}

const { e2e, environment } = environmentSuite('the dashboard of docs/dashboard.md in Chromium', 'dashboard', { chromium: true });

e2e('the example dashboard shows every favourite picture in a real browser', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    const dataDir = world.path('worker-data');
    mkdirSync(dataDir);
    const worker = world.startWorker('worker', dataDir);
    const queueLength = await entityIdOf(ws, `${world.entryId}_queue_length`);
    const expectedSubjects = demoPopulationOptions(DEMO_CONTACTS, 1).subjects;
    const subjects = await waitFor(
      'the directory to list every simulated subject',
      async () => {
        const choices = await favouriteChoices(world.rest, world.entryId);
        if (choices.length !== expectedSubjects) throw new Error(`${choices.length} of ${expectedSubjects} listed`);
        return choices;
      },
      { timeoutMs: FIRST_PASS_TIMEOUT_MS },
    );
    await world.waitForState(queueLength, 'to show an empty queue', (state) => state?.state === '0', FIRST_PASS_TIMEOUT_MS);

    // As many favourites as the example has pictures: contacts first, then a group.
    const { config, exampleImages } = dashboardExample();
    const stored = subjects.filter((choice) => existsSync(storedPicturePath(dataDir, choice.value)));
    const groups = stored.filter((choice) => choice.value.endsWith('@g.us'));
    const contacts = stored.filter((choice) => !choice.value.endsWith('@g.us'));
    const favourites = [...contacts.slice(0, exampleImages.length - 1), ...groups.slice(0, 1)];
    assert.is(favourites.length, exampleImages.length, 'enough subjects with pictures for the example');
    await setFavourites(world.rest, world.entryId, favourites.map((choice) => choice.value));
    const imageEntities: string[] = [];
    for (const choice of favourites) imageEntities.push(await entityIdOf(ws, pictureUniqueId(choice.value)));
    for (const entityId of imageEntities) {
      await world.waitForState(entityId, 'to have a picture', (state) => typeof state?.attributes.entity_picture === 'string', LIVENESS_TIMEOUT_MS);
    }

    const dashboard = replaceEntities(config, new Map(exampleImages.map((example, index) => [example, imageEntities[index]!])));
    const referenced = entitiesIn(dashboard);
    for (const entityId of new Set(referenced)) {
      assert.ok(await world.state(entityId), `the example's entity ${entityId} exists in Home Assistant`);
    }
    await ws.command({
      type: 'lovelace/dashboards/create',
      url_path: DASHBOARD_URL_PATH,
      title: String(dashboard.title ?? 'WhatsApp'),
      icon: 'mdi:whatsapp',
      show_in_sidebar: true,
      require_admin: false,
      mode: 'storage',
    });
    await ws.command({ type: 'lovelace/config/save', url_path: DASHBOARD_URL_PATH, config: dashboard });

    browser = await HaBrowser.launch(world.path('chromium-profile'));
    await browser.logIn(world.haUrl, world.owner);
    const views = dashboard.views as { path: string }[];
    await browser.page.goto(`${world.haUrl}/${DASHBOARD_URL_PATH}/${views[0]!.path}`);
    // One picture per card that shows an image entity (picture-entity cards and picture tiles).
    const expectedPictures = referenced.filter((entityId) => entityId.startsWith('image.')).length;
    const pictures = await waitFor(
      `${expectedPictures} avatar pictures to load on the dashboard`,
      async () => {
        const found = await browser!.images('hui-root', IMAGE_PROXY_PATH);
        const loaded = found.filter((img) => img.complete && img.naturalWidth > 0);
        if (found.length < expectedPictures || loaded.length !== found.length) {
          throw new Error(`${loaded.length} loaded of ${found.length} found: ${JSON.stringify(found)}`);
        }
        return found;
      },
      { timeoutMs: PICTURES_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.is(pictures.length, expectedPictures, 'one picture per image card');
    for (const img of pictures) assert.ok(img.naturalWidth > 0, `${img.src} loaded`);
    for (const entityId of imageEntities) {
      assert.ok(pictures.some((img) => img.src.includes(`${IMAGE_PROXY_PATH}${entityId}?`)), `${entityId} is shown`);
    }
    // Let the last card finish its layout before the picture is taken.
    await browser.settle();
    await browser.page.screenshot({ path: DASHBOARD_SCREENSHOT });
    copyFileSync(DASHBOARD_SCREENSHOT, world.path('dashboard.png'));

    // A favourite without a picture: a calm placeholder that loads, not a broken image.
    const pictureless = subjects.find((choice) => !existsSync(storedPicturePath(dataDir, choice.value)));
    assert.ok(pictureless, 'the simulated account has a subject without a picture');
    await setFavourites(world.rest, world.entryId, [...favourites, pictureless].map((choice) => choice.value));
    const placeholderEntity = await entityIdOf(ws, pictureUniqueId(pictureless.value));
    const placeholderState = await world.waitForState(placeholderEntity, 'to have a picture URL', (state) => typeof state?.attributes.entity_picture === 'string', LIVENESS_TIMEOUT_MS);
    assert.ok(['none', 'hidden', 'unknown'].includes(String(placeholderState?.attributes.picture_state)), `picture_state says why: ${placeholderState?.attributes.picture_state}`);
    const placeholder = await world.rest.getBytes(String(placeholderState?.attributes.entity_picture));
    assert.is(placeholder.status, 200, 'the image proxy serves the placeholder, not an error');
    assert.is(placeholder.contentType, 'image/svg+xml');
    await ws.command({
      type: 'lovelace/dashboards/create',
      url_path: NO_PICTURE_URL_PATH,
      title: 'No picture',
      icon: 'mdi:account-question',
      show_in_sidebar: false,
      require_admin: false,
      mode: 'storage',
    });
    await ws.command({
      type: 'lovelace/config/save',
      url_path: NO_PICTURE_URL_PATH,
      config: { views: [{ path: 'one', cards: [{ type: 'picture-entity', entity: placeholderEntity, show_name: true, show_state: false }] }] },
    });
    await browser.page.goto(`${world.haUrl}/${NO_PICTURE_URL_PATH}/one`);
    await waitForLoadedPictures(browser, [placeholderEntity]);

    // The worker stops: the pictures are HA's and stay on show, after a fresh page load too.
    const workerConnected = await entityIdOf(ws, `${world.entryId}_worker_connected`);
    await worker.kill();
    await world.waitForState(workerConnected, 'to turn off', (state) => state?.state === 'off', LIVENESS_TIMEOUT_MS);
    for (const entityId of imageEntities) {
      const state = await world.state(entityId);
      assert.ok(state !== undefined && state.state !== 'unavailable', `${entityId} stays available while the worker is away`);
    }
    await browser.page.goto(`${world.haUrl}/${DASHBOARD_URL_PATH}/${views[0]!.path}`);
    const whileAway = await waitForLoadedPictures(browser, imageEntities, expectedPictures);
    assert.is(whileAway.length, expectedPictures, 'every picture card shows its last picture while the worker is away');
    if (browser.blockedRequests.length > 0) {
      process.stderr.write(`e2e: the browser tried to reach beyond loopback (blocked): ${browser.blockedRequests.join(', ')}\n`);
    }
  } catch (error) {
    world.reportLogs();
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
