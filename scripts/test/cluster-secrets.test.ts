import { describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../cluster/commands.js';
import type { SecretSpec } from '../cluster/inputs.js';
import { parseSecrets } from '../cluster/inputs.js';
import bcrypt from 'bcryptjs';
import { ensureSecrets, generateValue, secretManifest } from '../cluster/secrets.js';

interface StoredSecret {
  data: Record<string, string>;
  labels: Record<string, string>;
}

/** A fake kubectl holding namespaces and Secrets in memory; records every call. */
function fakeKubectl(initial: { namespaces?: string[]; secrets?: Record<string, StoredSecret> } = {}) {
  const namespaces = new Set(initial.namespaces ?? []);
  const secrets = new Map(Object.entries(initial.secrets ?? {}));
  const calls: { argv: string[]; input?: string }[] = [];
  const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });
  const runner: Runner = async (argv: string[], options: RunOptions = {}) => {
    calls.push({ argv, input: options.input });
    const args = argv.slice(3); // kubectl --context kind-courseops …
    expect(argv.slice(0, 3)).toEqual(['kubectl', '--context', 'kind-courseops']);
    if (args[0] === 'get' && args[1] === 'namespace') return ok(namespaces.has(args[2]!) ? `namespace/${args[2]}\n` : '');
    if (args[0] === 'create' && args[1] === 'namespace') {
      namespaces.add(args[2]!);
      return ok();
    }
    if (args[0] === 'get' && args[1] === 'secret') {
      const ns = args[args.indexOf('-n') + 1]!;
      const s = secrets.get(`${ns}/${args[2]}`);
      if (!s) return ok('');
      return ok(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: args[2], namespace: ns, labels: s.labels }, data: s.data }));
    }
    if (args[0] === 'apply') {
      const m = JSON.parse(options.input!) as { metadata: { name: string; namespace: string; labels: Record<string, string> }; data: Record<string, string> };
      if (!namespaces.has(m.metadata.namespace)) return { code: 1, stdout: '', stderr: `namespaces "${m.metadata.namespace}" not found` };
      const key = `${m.metadata.namespace}/${m.metadata.name}`;
      const prev = secrets.get(key);
      secrets.set(key, { data: { ...prev?.data, ...m.data }, labels: { ...prev?.labels, ...m.metadata.labels } });
      return ok(`secret/${m.metadata.name} serverside-applied`);
    }
    throw new Error(`unexpected kubectl call: ${argv.join(' ')}`);
  };
  const value = (id: string, key: string) => Buffer.from(secrets.get(id)!.data[key]!, 'base64').toString('utf8');
  return { runner, calls, secrets, namespaces, value };
}

const SPECS: SecretSpec[] = parseSecrets([
  { namespace: 'courseops', name: 'course-db', keys: [{ key: 'password', generate: 'password' }] },
  { namespace: 'monitoring', name: 'grafana-admin', keys: [{ key: 'admin-user', fromFile: 'admin-user.txt' }, { key: 'admin-password', generate: 'password' }], labels: { team: 'platform' } },
  { namespace: 'courseops', name: 'alert-webhook', keys: [{ key: 'token', generate: 'token' }] },
]);

/** The other key forms of the contract: bcrypt of a sibling key, copies across namespaces, fixed values. */
const AUTH_SPECS: SecretSpec[] = parseSecrets([
  { namespace: 'auth', name: 'dex-clients', keys: [{ key: 'grafana', generate: 'password' }] },
  {
    namespace: 'auth',
    name: 'dex-static-users',
    keys: [
      { key: 'admin-password-hash', generate: 'bcrypt', from: 'admin-password' },
      { key: 'admin-password', generate: 'password' },
    ],
  },
  {
    namespace: 'monitoring',
    name: 'grafana-oauth',
    keys: [
      { key: 'client-id', value: 'grafana' },
      { key: 'client-secret', copyFrom: { namespace: 'auth', name: 'dex-clients', key: 'grafana' } },
    ],
    labels: { 'app.kubernetes.io/managed-by': 'cdk8s' },
  },
]);

const readFile = (f: string) => {
  if (f === '/repo/admin-user.txt') return Buffer.from('admin');
  throw new Error('ENOENT');
};

describe('generated secrets', () => {
  it('creates namespaces and secrets with random values passed on stdin only', async () => {
    // (see also the fixture-based run in cluster-prerequisites.test.ts)
    const kube = fakeKubectl({ namespaces: ['courseops'] });
    const outcomes = await ensureSecrets(SPECS, { runner: kube.runner, readFile, fileRoots: ['/repo'] });
    expect(outcomes.map((o) => o.action)).toEqual(['created', 'created', 'created']);
    expect(kube.namespaces.has('monitoring')).toBe(true);
    expect(kube.calls.some((c) => c.argv.join(' ').includes('create namespace courseops'))).toBe(false);

    const password = kube.value('courseops/course-db', 'password');
    const grafana = kube.value('monitoring/grafana-admin', 'admin-password');
    const token = kube.value('courseops/alert-webhook', 'token');
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(grafana).not.toBe(password);
    expect(kube.value('monitoring/grafana-admin', 'admin-user')).toBe('admin');
    expect(kube.secrets.get('monitoring/grafana-admin')!.labels).toEqual({ team: 'platform', 'app.kubernetes.io/managed-by': 'courseops-up' });

    // Values never appear in any command line, only in the stdin of `kubectl apply -f -`.
    const argvText = kube.calls.map((c) => c.argv.join(' ')).join('\n');
    for (const v of [password, grafana, token]) expect(argvText).not.toContain(v);
    const applies = kube.calls.filter((c) => c.argv.includes('apply'));
    expect(applies).toHaveLength(3);
    for (const a of applies) expect(a.argv.slice(-2)).toEqual(['-f', '-']);
    expect(applies.every((a) => a.argv.includes('--server-side'))).toBe(true);
  });

  it('keeps existing values on a second run and applies nothing', async () => {
    const kube = fakeKubectl();
    await ensureSecrets(SPECS, { runner: kube.runner, readFile, fileRoots: ['/repo'] });
    const before = new Map([...kube.secrets].map(([k, v]) => [k, JSON.stringify(v)]));
    kube.calls.length = 0;

    const outcomes = await ensureSecrets(SPECS, { runner: kube.runner, readFile, fileRoots: ['/repo'] });
    expect(outcomes.map((o) => o.action)).toEqual(['kept', 'kept', 'kept']);
    expect(kube.calls.filter((c) => c.argv.includes('apply'))).toEqual([]);
    expect(new Map([...kube.secrets].map(([k, v]) => [k, JSON.stringify(v)]))).toEqual(before);
  });

  it('keeps an existing database password and only generates a key the secret lacks', async () => {
    const existing = Buffer.from('the-old-password').toString('base64');
    const kube = fakeKubectl({
      namespaces: ['courseops'],
      secrets: { 'courseops/course-db': { data: { password: existing }, labels: { 'app.kubernetes.io/managed-by': 'courseops-up' } } },
    });
    const spec = parseSecrets([{ namespace: 'courseops', name: 'course-db', keys: [{ key: 'password', generate: 'password' }, { key: 'replication-password', generate: 'password' }] }]);
    const [outcome] = await ensureSecrets(spec, { runner: kube.runner });
    expect(outcome).toMatchObject({ action: 'updated', keptKeys: ['password'], changedKeys: ['replication-password'] });
    expect(kube.value('courseops/course-db', 'password')).toBe('the-old-password');
    expect(kube.value('courseops/course-db', 'replication-password')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The applied manifest carries the old value unchanged (server-side apply of the same value is a no-op).
    const applied = JSON.parse(kube.calls.find((c) => c.argv.includes('apply'))!.input!) as { data: Record<string, string> };
    expect(applied.data.password).toBe(existing);
  });

  it('hashes a sibling key with bcrypt, copies across namespaces and writes fixed values', async () => {
    const kube = fakeKubectl();
    await ensureSecrets(AUTH_SPECS, { runner: kube.runner, bcryptCost: 4 });
    const password = kube.value('auth/dex-static-users', 'admin-password');
    const hash = kube.value('auth/dex-static-users', 'admin-password-hash');
    expect(hash).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(bcrypt.compareSync(password, hash)).toBe(true);
    expect(kube.value('monitoring/grafana-oauth', 'client-secret')).toBe(kube.value('auth/dex-clients', 'grafana'));
    expect(kube.value('monitoring/grafana-oauth', 'client-id')).toBe('grafana');
    // A label given by the synth wins over the default managed-by label.
    expect(kube.secrets.get('monitoring/grafana-oauth')!.labels['app.kubernetes.io/managed-by']).toBe('cdk8s');

    // Second run: the hash still matches the kept password, so nothing changes (no new salt, no apply).
    kube.calls.length = 0;
    const again = await ensureSecrets(AUTH_SPECS, { runner: kube.runner, bcryptCost: 4 });
    expect(again.map((o) => o.action)).toEqual(['kept', 'kept', 'kept']);
    expect(kube.value('auth/dex-static-users', 'admin-password-hash')).toBe(hash);
    expect(kube.calls.filter((c) => c.argv.includes('apply'))).toEqual([]);
  });

  it('re-hashes when the password changed and re-copies when the source changed', async () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const kube = fakeKubectl({
      namespaces: ['auth', 'monitoring'],
      secrets: {
        'auth/dex-clients': { data: { grafana: b64('client-secret-1') }, labels: { 'app.kubernetes.io/managed-by': 'courseops-up' } },
        // The hash is of another password (e.g. someone edited the password by hand).
        'auth/dex-static-users': {
          data: { 'admin-password': b64('edited-by-hand'), 'admin-password-hash': b64(bcrypt.hashSync('old-password', 4)) },
          labels: { 'app.kubernetes.io/managed-by': 'courseops-up' },
        },
        'monitoring/grafana-oauth': { data: { 'client-id': b64('grafana'), 'client-secret': b64('stale') }, labels: { 'app.kubernetes.io/managed-by': 'cdk8s' } },
      },
    });
    const outcomes = await ensureSecrets(AUTH_SPECS, { runner: kube.runner, bcryptCost: 4 });
    expect(outcomes.map((o) => [o.action, o.changedKeys])).toEqual([
      ['kept', []],
      ['updated', ['admin-password-hash']],
      ['updated', ['client-secret']],
    ]);
    expect(kube.value('auth/dex-static-users', 'admin-password')).toBe('edited-by-hand');
    expect(bcrypt.compareSync('edited-by-hand', kube.value('auth/dex-static-users', 'admin-password-hash'))).toBe(true);
    expect(kube.value('monitoring/grafana-oauth', 'client-secret')).toBe('client-secret-1');
  });

  it('never shows a value in an error', async () => {
    const kube = fakeKubectl({ namespaces: ['courseops'] });
    const failing: Runner = async (argv, options) => {
      if (argv.includes('apply')) {
        const m = JSON.parse(options!.input!) as { data: Record<string, string> };
        const leaked = Buffer.from(m.data.password!, 'base64').toString('utf8');
        return { code: 1, stdout: '', stderr: `admission webhook denied: ${leaked} / ${m.data.password}` };
      }
      return kube.runner(argv, options);
    };
    const err = await ensureSecrets([SPECS[0]!], { runner: failing }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('admission webhook denied: <redacted> / <redacted>');
    expect((err as Error).message).toContain('(stdin: Secret courseops/course-db password=<generated>)');
  });

  it('generates with node:crypto and rejects unknown generators', () => {
    const fixed = (n: number) => Buffer.alloc(n, 0xab);
    expect(generateValue('password', undefined, fixed)).toBe(Buffer.alloc(24, 0xab).toString('base64url'));
    expect(generateValue('hex', 16, fixed)).toBe('ab'.repeat(16));
    expect(() => generateValue('bcrypt')).toThrow(/unknown generator "bcrypt"/);
    expect(generateValue('password')).not.toBe(generateValue('password'));
  });

  it('builds a Secret manifest with base64 data and the managed-by label', () => {
    expect(secretManifest(SPECS[0]!, { password: 'x' })).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'course-db', namespace: 'courseops', labels: { 'app.kubernetes.io/managed-by': 'courseops-up' } },
      type: 'Opaque',
      data: { password: 'eA==' },
    });
  });

  it('validates secrets.json', () => {
    expect(() => parseSecrets([{ namespace: 'a', name: 'b', keys: [] }])).toThrow(/non-empty array/);
    expect(() => parseSecrets([{ namespace: 'a', name: 'b', keys: [{ key: 'k' }] }])).toThrow(/needs "generate", "copyFrom", "value" or "fromFile"/);
    expect(() => parseSecrets([{ namespace: 'a', name: 'b', keys: [{ key: 'h', generate: 'bcrypt', from: 'nope' }] }])).toThrow(/hashes "nope"/);
    expect(() =>
      parseSecrets([
        { namespace: 'a', name: 'b', keys: [{ key: 'k', copyFrom: { namespace: 'a', name: 'c', key: 'x' } }] },
        { namespace: 'a', name: 'c', keys: [{ key: 'x', generate: 'password' }] },
      ]),
    ).toThrow(/not a key of a secret listed before it/);
    expect(() => parseSecrets([{ namespace: 'a', name: 'b', keys: [{ key: 'k', generate: 'password' }, { key: 'k', generate: 'password' }] }])).toThrow(/twice/);
  });
});
