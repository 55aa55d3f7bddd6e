// Worker-thread entry (piscina) of the tree pool: grows one batch of trees (lib/forest, pure).
export { growBatch as default } from '../lib/forest/grow-batch.js';
