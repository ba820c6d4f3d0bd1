import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyFileError } from './errors.js';

/**
 * Writing secrets to disk: owner-only modes (files 0600, directories 0700), never over an
 * existing file, and all-or-nothing — the content goes to a temporary name in the same
 * directory first and appears under its real name in one step, so a crash or an error leaves
 * either nothing or the complete result.
 */

export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

/** Creates `path` with `data` (mode 0600); refuses if it exists. Atomic: link(2) never replaces. */
export async function writeNewSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  if (await exists(target)) throw new KeyFileError(path, 'file', 'already exists; refusing to overwrite');
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeDurably(tmp, data);
    // link fails with EEXIST if the name appeared meanwhile; rename would silently replace it.
    await link(tmp, target);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(path, 'file', 'already exists; refusing to overwrite', { cause });
    }
    throw cause;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(target));
}

/**
 * Fills a new directory `dir` (mode 0700) with `files` (mode 0600 each). `dir` must not exist
 * or be empty. The files are written into a temporary sibling directory that is then renamed
 * onto `dir`, so a failure half-way leaves nothing behind. `produce` is called once per file,
 * in order, and may be slow (keystore encryption).
 */
export async function writeNewSecretDir(
  dir: string,
  names: readonly string[],
  produce: (name: string, index: number) => Promise<string | Uint8Array>,
): Promise<void> {
  const target = resolve(dir);
  await refuseNonEmpty(dir, target);
  await mkdir(dirname(target), { recursive: true });
  const tmp = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    await chmod(tmp, SECRET_DIR_MODE);
    for (const [index, name] of names.entries()) await writeDurably(join(tmp, name), await produce(name, index));
    await syncDir(tmp);
    // rename(2) replaces an empty directory and fails on a non-empty one (ENOTEMPTY/EEXIST).
    await rename(tmp, target);
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true });
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new KeyFileError(dir, 'file', 'appeared while writing and is not empty; refusing to overwrite', { cause });
    }
    throw cause;
  }
  await syncDir(dirname(target));
}

async function refuseNonEmpty(dir: string, target: string): Promise<void> {
  let entries: string[];
  try {
    const info = await stat(target);
    if (!info.isDirectory()) throw new KeyFileError(dir, 'file', 'exists and is not a directory; refusing to overwrite');
    entries = await readdir(target);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw cause;
  }
  const first = entries.sort()[0];
  if (first !== undefined) {
    throw new KeyFileError(join(dir, first), 'file', `already exists (${dir} must be empty or absent); refusing to overwrite`);
  }
}

async function writeDurably(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', SECRET_FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.chmod(SECRET_FILE_MODE); // the umask cannot widen 0600, but a narrower umask is irrelevant too
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the data files themselves are synced.
  } finally {
    await handle.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw cause;
  }
}
