// Report files are written whole or not at all: a run that fails (an internal error, a full disk)
// never leaves a truncated report, nor replaces an earlier good one.
import { writeFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Writes `text` to a temporary file beside `path`, then renames it over `path` (atomic on one file system). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.kaudit-${process.pid}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
