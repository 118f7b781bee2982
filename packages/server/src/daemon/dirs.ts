import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonConfig } from './config.js';

/**
 * Makes the data and run directories, mode 0711 (a directory shedd finds with less is
 * widened to it): a sandbox's mapped root is an unprivileged host uid that must traverse
 * them to reach its rootfs and agent socket, while listing them stays root's. What lies
 * inside is protected on its own: the API socket is 0600, and so is the database.
 * Returns the database's path.
 */
export async function prepareDirs(config: Pick<DaemonConfig, 'dataDir' | 'runDir'>): Promise<string> {
  await Promise.all([traversableDir(config.dataDir), traversableDir(config.runDir)]);
  // Specs hold environment values (often secrets). SQLite gives its -wal and -shm files the
  // database file's mode, so making the file 0600 before opening it covers all three.
  const db = join(config.dataDir, 'shed.db');
  await writeFile(db, '', { flag: 'a', mode: 0o600 });
  await chmod(db, 0o600);
  return db;
}

async function traversableDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const st = await stat(dir);
  if ((st.mode & 0o011) !== 0o011) await chmod(dir, (st.mode & 0o7777) | 0o711);
}
