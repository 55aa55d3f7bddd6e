// Entry point of the Temporal workflow bundle (bundleWorkflowCode / Worker workflowsPath).
export { xclassBranch, xclassDag, xclassPipeline } from './temporal.js';
