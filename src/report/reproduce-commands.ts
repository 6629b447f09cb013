/**
 * The commands printed next to each figure of a report, so that a reviewer can reproduce it without
 * trusting the report. Paths are the installation's own; the config file is quoted when needed.
 *
 * @example
 * reproduce({ configFile: '/etc/airlock/connector.yaml', dataDir: '/var/lib/airlock' }).audit // 'airlock audit verify --config /etc/airlock/connector.yaml --witness'
 */

/** Quotes a shell word when it contains anything but safe characters. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@=+,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** SHA-256 of a PEM public key, certificate or private key's SPKI, with openssl. */
export function spkiFingerprintCommand(file: string, kind: 'certificate' | 'public' | 'private'): string {
  const f = shellWord(file);
  const extract =
    kind === 'certificate'
      ? `openssl x509 -in ${f} -noout -pubkey | openssl pkey -pubin`
      : kind === 'public'
        ? `openssl pkey -pubin -in ${f}`
        : `openssl pkey -in ${f} -pubout`;
  return `${extract} -outform DER | sha256sum`;
}

/** The `airlock` commands behind each section, for one connector config file. */
export function reproduce(paths: { configFile: string; dataDir: string; policyFile?: string }) {
  const c = `--config ${shellWord(paths.configFile)}`;
  return {
    report: `airlock report ${c} --out <dir>`,
    dataPath: `cat ${shellWord(paths.configFile)} ${shellWord(`${paths.dataDir}/credential/enrollment.json`)}`,
    policy: paths.policyFile
      ? `sha256sum ${shellWord(paths.policyFile)}`
      : `grep -A1 '^policy:' ${shellWord(paths.configFile)}`,
    identities: `airlock identity list ${c}`,
    catalog: `airlock tools list ${c}`,
    approvals: `airlock approvals list ${c} --all`,
    activity: `airlock audit export ${c} --format jsonl --out trail.jsonl`,
    audit: `airlock audit verify ${c} --witness`,
    sandbox: 'bwrap --version && prlimit --version',
    tls: (target: string, servername: string, version: 'TLSv1.2' | 'TLSv1.3') =>
      `openssl s_client -connect ${target} -servername ${servername} ${version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3'} </dev/null`,
    discover: (cidrs: string[], ports: string) =>
      `airlock discover ${cidrs.map((x) => `--cidr ${x}`).join(' ')} --ports ${ports} ${c} --json`,
  };
}
