// What the page knows, shared by its modules.

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export const ENDPOINT_LABELS = {
  text_to_video: "Text to video",
  image_to_video: "Image to video",
  video_to_video: "Video to video",
  character_performance: "Character performance",
  chain: "Long video (chained)",
};

export const state = {
  health: null, // GET /healthz
  models: [], // GET /v1/models
  model: null, // the chosen model's full description (GET /v1/models/{id})
  recommendation: null,
  modelChosenByUser: false,
  media: {}, // field name -> {uri, kind, name}
  advanced: {}, // field name -> value the user set (only what was set is sent)
  duration: 5, // the user's length for one generation; a chain keeps its own
  chainDuration: 30,
  jobs: new Map(), // job id -> last known job
  currentJobId: null,
  nextCursor: null,
};
