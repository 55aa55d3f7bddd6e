// Entry point of the Temporal workflow bundle (bundleWorkflowCode / Worker workflowsPath).
export { xclassPipeline } from './temporal.js';
