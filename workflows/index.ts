// Entry point of the Temporal workflow bundle (bundleWorkflowCode / Worker workflowsPath).
export { xclassBranch, xclassPipeline } from './temporal.js';
