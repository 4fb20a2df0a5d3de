// A throw-away PostgreSQL cluster for the test suite and the benches: initdb into a temporary
// directory (as the `postgres` user when run as root: the server refuses to run as root), started
// on a free loopback port with trust authentication, stopped and removed at the end. Never touches
// a system cluster.
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Cluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres: the superuser's URL of the cluster. */
  url: string
  port: number
  stop(): void
}

/** Where Debian's PostgreSQL server programs are, or null when none is installed. */
export function findPgBin(): string | null {
  const fromEnv = process.env.MIDA_PG_BIN
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && Number(v) >= 14 && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error('Running as root needs a "postgres" user to run the PostgreSQL server')
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

export interface ClusterOptions {
  /**
   * Durable, as a production server is (fsync, synchronous commit), with the given memory
   * settings (`shared_buffers=1GB`, …): for benchmarks. Default: a test cluster, which trades
   * durability for speed (nothing in it must survive a crash).
   */
  durable?: string[]
}

/** Starts a cluster of its own; throws with the server's own words when it cannot. */
export async function startCluster(bin: string, options: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mida-pg-'))
  const owner = postgresUser()
  if (owner) chownSync(dir, owner.uid, owner.gid)
  chmodSync(dir, 0o700)
  const data = join(dir, 'data')
  const run = (program: string, args: string[]) => {
    const command = owner
      ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], {
          encoding: 'utf8',
        })
      : spawnSync(join(bin, program), args, { encoding: 'utf8' })
    if (command.status !== 0)
      throw new Error(`${program} failed: ${command.stderr || command.stdout || command.error}`)
  }
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'])
    const port = await freePort()
    const settings = [
      `-p ${port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${dir}'`,
      '-c max_connections=300',
      ...(options.durable
        ? options.durable.map((s) => `-c ${s}`)
        : // A test cluster: nothing here must survive a crash, so durability is traded for speed.
          ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ')
    run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', 'start'])
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop }
  } catch (err) {
    stop()
    throw err
  }
}
