import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { removeTempDirs, tempDir } from './helpers.js';

// Whatever the file's code and the processes it starts put in the system's temporary
// directory (os.tmpdir(): converted catalog zones, DuckDB spill folders; a test process
// ended by vitest runs no exit handler) goes inside a folder of the file's own, made in
// the system's directory (remembered, should a process run another file after this one).
process.env['TMPDIR'] = tempDir('xclass-tmp-', (process.env['XCLASS_SYSTEM_TMPDIR'] ??= tmpdir()));

// Every test file's temporary folders go when the file ends (a CI run made about 260 of them).
afterAll(() => removeTempDirs());
