// The seed document's "upload a local file, then image to video" snippet (the user's code), with
// the two changes the real @runwayml/sdk needs (against Runway too): createEphemeral takes
// `{ file }`, and the result's URI is `upload.uri` (the seed wrote a bare stream and
// `upload.runwayUri`). The first and last lines are the harness's: a path in, the URL out.
import RunwayML from '@runwayml/sdk';
import fs from 'fs';

const client = new RunwayML();

const upload = await client.uploads.createEphemeral({
  file: fs.createReadStream(process.argv[2])
});

const task = await client.imageToVideo.create({
  model: 'gen4.5',
  promptImage: upload.uri,  // Use the runway:// URI
  promptText: 'The scene comes to life with gentle wind',
  ratio: '1280:720',
  duration: 5
}).waitForTaskOutput();

console.log(JSON.stringify({ uri: upload.uri, videoUrl: task.output[0] }));
