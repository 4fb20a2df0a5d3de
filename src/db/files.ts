import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs'

/** The daily backups' folder inside the data directory. */
export const BACKUP_DIR = 'backups'

/** The data directory and its backups folder: the owner only, whatever the umask. */
const PRIVATE_DIR_MODE = 0o700
/** The database, its WAL and shared-memory files, backups: read and write for the owner only. */
const PRIVATE_FILE_MODE = 0o600

/** Mode bits that give the group or other users any access. */
const OTHERS = 0o077

/** Creates `dir` (and missing parents) readable by the owner only; an existing one is left. */
export function ensurePrivateDir(dir: string): void {
  if (existsSync(dir)) return
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  // The mode given to mkdir is masked by the umask: set it exactly.
  chmodSync(dir, PRIVATE_DIR_MODE)
}

/**
 * Creates `file` empty with mode 0600 unless it exists (returns false then). SQLite gives the
 * WAL, shared-memory and journal files the main file's mode, and `VACUUM INTO` writes into an
 * empty file, so every file made from it is private from its first byte.
 */
export function createPrivateFile(file: string): boolean {
  let fd: number
  try {
    fd = openSync(
      file,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
      PRIVATE_FILE_MODE,
    )
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE)
  } finally {
    closeSync(fd)
  }
  return true
}

/** What `tightenPermissions` changed, and what it could not change. */
export interface Tightened {
  dirs: string[]
  files: string[]
  /** Paths it had no right to change (another user's), with the reason. */
  failed: string[]
}

/**
 * Takes the group's and other users' access away from those of `dirs` (to 0700) and `files`
 * (to 0600) that have any; missing paths are skipped.
 */
export function tightenPermissions(dirs: string[], files: string[]): Tightened {
  const result: Tightened = { dirs: [], files: [], failed: [] }
  const tighten = (path: string, mode: number, changed: string[]) => {
    let current: number
    try {
      current = statSync(path).mode
    } catch {
      return
    }
    if ((current & OTHERS) === 0) return
    try {
      chmodSync(path, mode)
      changed.push(path)
    } catch (err) {
      result.failed.push(`${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
    }
  }
  for (const dir of dirs) tighten(dir, PRIVATE_DIR_MODE, result.dirs)
  for (const file of files) tighten(file, PRIVATE_FILE_MODE, result.files)
  return result
}

/** The one log line about a tightening inside `dataDir`, or null when nothing needed it. */
export function describeTightened(
  dataDir: string,
  { dirs, files, failed }: Tightened,
): string | null {
  const parts: string[] = []
  if (dirs.length > 0) parts.push(`${dirs.join(' and ')} to 0700`)
  if (files.length > 0) {
    parts.push(`${files.length} ${files.length === 1 ? 'file' : 'files'} in ${dataDir} to 0600`)
  }
  const lines: string[] = []
  if (parts.length > 0) {
    lines.push(`Tightened permissions of ${parts.join(' and ')} (other users had access)`)
  }
  if (failed.length > 0) lines.push(`Could not tighten permissions of ${failed.join(', ')}`)
  return lines.length > 0 ? lines.join('; ') : null
}
