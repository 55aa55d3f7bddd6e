import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers.js';

// Every test file's temporary folders go when the file ends (a CI run made about 260 of them).
afterAll(() => removeTempDirs());
