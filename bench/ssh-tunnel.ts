/**
 * The classic outbound-only tunnel: OpenSSH `ssh -N -R`. The bench starts its own `sshd` on a
 * loopback port (generated host key, an authorized key made in a temp dir, no PAM, no passwords),
 * then runs `ssh -N -R <public port>:127.0.0.1:<upstream port>` from the "private side". Agents send
 * the same MCP HTTP traffic to the public port on the sshd side; sshd carries it over the SSH
 * connection to the ssh client, which opens the upstream connection.
 *
 * Never faked: when sshd or ssh is missing or cannot start, `startSshTunnel` throws and the run
 * records the path as skipped with the reason.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { type RunningChild, runToEnd, startChild } from './child-process.js';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd'];
const SSH_CANDIDATES = ['/usr/bin/ssh', '/usr/local/bin/ssh'];

/**
 * Installs Debian's `openssh-server` and `openssh-client` with apt-get when sshd or ssh is missing and
 * this runs as root on a system with apt-get; otherwise does nothing (the path is then skipped).
 */
export async function ensureOpenSsh(log: (line: string) => void): Promise<void> {
  const have = (paths: string[]) => paths.some((p) => existsSync(p));
  if (have(SSHD_CANDIDATES) && have(SSH_CANDIDATES)) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return;
  log('ssh -R: installing openssh-server and openssh-client with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await runToEnd('apt-get', ['update', '-qq'], env);
    await runToEnd('apt-get', ['install', '-y', '-qq', 'openssh-server', 'openssh-client'], env);
  } catch (err) {
    log(`ssh -R: apt-get failed: ${(err as Error).message.slice(0, 300)}`);
  }
}

export interface SshTunnel {
  /** Loopback port on the sshd side that reaches the upstream through the tunnel. */
  publicPort: number;
  sshd: RunningChild;
  ssh: RunningChild;
  /** `ssh -V`, e.g. `OpenSSH_9.2p1 Debian-2+deb12u7, OpenSSL 3.0.17 1 Jul 2025`. */
  version: string;
  /** Negotiated cipher, as `ssh -v` reported it. */
  cipher: string | undefined;
  close(): Promise<void>;
}

/** A free loopback TCP port (bound and released; small race accepted for a benchmark). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on `port`; throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (alive && !alive()) throw new Error(`the process that should listen on ${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function sshdConfig(dir: string, sshdPort: number, hostKey: string): string {
  return [
    `Port ${sshdPort}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'GatewayPorts no',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

/** The "public side": host and client keys made in `dir`, sshd on a free loopback port. */
async function startSshd(
  dir: string,
): Promise<{ sshd: RunningChild; sshdPort: number; hostKey: string; clientKey: string }> {
  const sshdPath = SSHD_CANDIDATES.find((p) => existsSync(p));
  if (!sshdPath) throw new Error('sshd not found (install Debian openssh-server)');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await runToEnd('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await runToEnd('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`), { mode: 0o600 });
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) await mkdir('/run/sshd', { mode: 0o755 });
  const sshdPort = await freePort();
  const configFile = join(dir, 'sshd_config');
  await writeFile(configFile, sshdConfig(dir, sshdPort, hostKey));
  const sshd = await startChild(sshdPath, ['-D', '-e', '-f', configFile], { waitForReady: false });
  try {
    await waitForPort(sshdPort, 5000, () => !sshd.exited());
  } catch (err) {
    await sshd.stop('SIGKILL');
    throw new Error(`sshd did not start: ${(err as Error).message}: ${sshd.stderr().trim()}`);
  }
  return { sshd, sshdPort, hostKey, clientKey };
}

/** `ssh -N -R` arguments: key-only login, pinned host key, the forward from `publicPort` to `upstreamPort`. */
function sshArgs(
  clientKey: string,
  sshdPort: number,
  knownHosts: string,
  publicPort: number,
  upstreamPort: number,
): string[] {
  const options = [
    'BatchMode=yes',
    'IdentitiesOnly=yes',
    `UserKnownHostsFile=${knownHosts}`,
    'StrictHostKeyChecking=yes',
    'ExitOnForwardFailure=yes',
    'ServerAliveInterval=10',
  ];
  return [
    '-v',
    '-N',
    '-F',
    '/dev/null',
    '-i',
    clientKey,
    '-p',
    String(sshdPort),
    ...options.flatMap((o) => ['-o', o]),
    '-R',
    `127.0.0.1:${publicPort}:127.0.0.1:${upstreamPort}`,
    `${userInfo().username}@127.0.0.1`,
  ];
}

/**
 * Starts sshd and the reverse tunnel to `upstreamPort`.
 *
 * @example
 * const tunnel = await startSshTunnel(dir, upstream.httpPort);
 * // http://127.0.0.1:${tunnel.publicPort}/mcp reaches the upstream through SSH
 */
export async function startSshTunnel(dir: string, upstreamPort: number): Promise<SshTunnel> {
  const { sshd, sshdPort, hostKey, clientKey } = await startSshd(dir);
  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${sshdPort} ${hostPub}\n`);
  const publicPort = await freePort();
  const ssh = await startChild('ssh', sshArgs(clientKey, sshdPort, knownHosts, publicPort, upstreamPort), {
    waitForReady: false,
    maxStderrBytes: 32 * 1024,
  });
  const close = async (): Promise<void> => {
    await ssh.stop('SIGTERM', 2000);
    await sshd.stop('SIGTERM', 2000);
  };
  try {
    await waitForPort(publicPort, 10_000, () => !ssh.exited());
  } catch (err) {
    const detail = ssh
      .stderr()
      .split('\n')
      .filter((l) => !l.startsWith('debug'))
      .join(' ')
      .trim();
    await close();
    throw new Error(`ssh -R did not come up: ${(err as Error).message}: ${detail}`);
  }
  // `ssh -v` starts with the version line: "OpenSSH_9.2p1 Debian-2+deb12u7, OpenSSL 3.0.17 ...".
  const version = ssh.stderr().split('\n')[0]?.trim() || 'unknown';
  const cipher = /server->client cipher: (\S+)/.exec(ssh.stderr())?.[1];
  return { publicPort, sshd, ssh, version, cipher, close };
}
