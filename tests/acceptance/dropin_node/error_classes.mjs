// Which class the Node SDK raises for vidgate's refusals on the Runway surface (not a seed).
import RunwayML from '@runwayml/sdk';

const client = new RunwayML();
const out = {};
async function classOf(name, call) {
  try {
    await call();
    out[name] = { name: 'none' };
  } catch (error) {
    out[name] = { name: error.constructor.name, status: error.status, message: error.message };
  }
}
await classOf('badRequest', () =>
  client.textToVideo.create({ model: 'veo3.1', promptText: 'x', ratio: '1280:720', duration: 5 }));
await classOf('notFound', () => client.tasks.retrieve('01JNOSUCHTASK0000000000000'));
await classOf('unauthorized', () =>
  new RunwayML({ apiKey: 'vg_not_a_key' }).tasks.retrieve('01JNOSUCHTASK0000000000000'));
console.log(JSON.stringify(out));
