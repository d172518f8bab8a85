// Drives the emulator with the official Node SDK (@runwayml/sdk 4.20.1) and prints one JSON
// object for test_emulator_node_sdk.py to check. Usage: node sdk_check.mjs <sdk index.mjs URL>
// <emulator base URL> <png base64 file> <mp4 base64 file>
import { readFile } from 'node:fs/promises';

const [sdkUrl, baseURL, pngPath, clipPath] = process.argv.slice(2);
const { default: RunwayML, toFile, TaskFailedError } = await import(sdkUrl);

const control = async (body) => {
  const response = await fetch(`${baseURL}/_emulator/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-emulator-token': process.env.EMULATOR_CONTROL_TOKEN },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`control failed: ${response.status}`);
};
const errorInfo = (e) => ({ name: e.constructor.name, status: e.status ?? null, message: e.message });

const client = new RunwayML({ apiKey: 'key_' + 'c'.repeat(128), baseURL });
const png = Buffer.from(await readFile(pngPath, 'utf8'), 'base64');
const clip = Buffer.from(await readFile(clipPath, 'utf8'), 'base64');
const out = {};

const image = await client.uploads.createEphemeral({ file: await toFile(png, 'still.png') });
const video = await client.uploads.createEphemeral({ file: await toFile(clip, 'clip.mp4') });
out.uploads = [image.uri, video.uri];

try {
  await client.textToVideo.create({ model: 'veo3.1', promptText: 'x', ratio: '1280:720', duration: 5 });
  out.badRequest = null;
} catch (e) {
  out.badRequest = errorInfo(e);
}

await control({ failRate: 1, failureCode: 'SAFETY.INPUT.TEXT' });
const failing = client.textToVideo.create({
  model: 'gen4.5', promptText: 'Something unsafe', ratio: '1280:720', duration: 2,
});
await failing;
await control({ failRate: 0 });

const jobs = {
  text_to_video: client.textToVideo.create({
    model: 'gen4.5', promptText: 'A paper kite', ratio: '720:1280', duration: 2,
  }),
  image_to_video: client.imageToVideo.create({
    model: 'gen4_turbo', promptImage: image.uri, ratio: '960:960', duration: 2,
  }),
  veo: client.imageToVideo.create({
    model: 'veo3.1_fast', promptImage: [{ uri: image.uri, position: 'first' }],
    ratio: '1280:720', duration: 4,
  }),
  video_to_video: client.videoToVideo.create({
    model: 'aleph2', videoUri: video.uri, promptText: 'Make it snow',
  }),
  character_performance: client.characterPerformance.create({
    model: 'act_two',
    character: { type: 'image', uri: image.uri },
    reference: { type: 'video', uri: video.uri },
  }),
};
const names = Object.keys(jobs);
const settled = await Promise.allSettled([
  ...names.map((name) => jobs[name].waitForTaskOutput({ timeout: 60_000 })),
  failing.waitForTaskOutput({ timeout: 60_000 }),
]);
out.tasks = {};
names.forEach((name, i) => {
  const r = settled[i];
  out.tasks[name] = r.status === 'fulfilled'
    ? { status: r.value.status, output: r.value.output, cost: r.value.cost }
    : { error: errorInfo(r.reason) };
});
const failed = settled[names.length];
out.failed = failed.status === 'rejected'
  ? {
      isTaskFailedError: failed.reason instanceof TaskFailedError,
      message: failed.reason.message,
      failureCode: failed.reason.taskDetails?.failureCode ?? null,
    }
  : { unexpected: failed.value };

const doomed = await client.textToVideo.create({
  model: 'gen4.5', promptText: 'Never mind', ratio: '1280:720', duration: 2,
});
await client.tasks.delete(doomed.id);
try {
  await client.tasks.retrieve(doomed.id);
  out.afterDelete = null;
} catch (e) {
  out.afterDelete = errorInfo(e);
}

out.organization = await client.organization.retrieve();
console.log(JSON.stringify(out));
