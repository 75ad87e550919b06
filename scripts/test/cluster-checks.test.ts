import { describe, expect, it } from 'vitest';
import {
  MIN_SERVER_VERSION,
  clusterChecks,
  clusterIssuerCheck,
  clusterIssuerVerdict,
  databaseSecretVerdict,
  parseServerVersion,
  runChecks,
  serverVersionVerdict,
  storageClassVerdict,
  type ClusterCheck,
} from '../cluster/cluster-checks.js';
import type { RunResult, Runner } from '../cluster/commands.js';
import { parseServicesFile } from '../cluster/inputs.js';
import { FIXTURE_CLUSTER_SERVICES } from '../cluster/testing/fixture-dist.js';

const CTX = 'prod';
const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
const failed = (stderr: string, code = 1): RunResult => ({ code, stdout: '', stderr });

/** `kubectl version -o json` as kubectl 1.34 prints it against a server (trimmed to the fields that matter, plus some that do not). */
const versionJson = (server: Record<string, string>) =>
  JSON.stringify(
    {
      clientVersion: { major: '1', minor: '34', emulationMajor: '1', emulationMinor: '34', gitVersion: 'v1.34.1', gitCommit: '93248f9ae092f571eb870b7664c534bfc7d00f03', gitTreeState: 'clean', buildDate: '2025-09-09T19:44:50Z', goVersion: 'go1.24.6', compiler: 'gc', platform: 'linux/amd64' },
      kustomizeVersion: 'v5.7.1',
      serverVersion: { gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2025-04-01T00:00:00Z', goVersion: 'go1.23.8', compiler: 'gc', platform: 'linux/amd64', ...server },
    },
    null,
    2,
  );

/** `kubectl get storageclasses -o json` of a managed cluster. */
const storageClassesJson = (classes: { name: string; annotations?: Record<string, string> }[]) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    metadata: { resourceVersion: '' },
    items: classes.map((c) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: c.name, ...(c.annotations ? { annotations: c.annotations } : {}), creationTimestamp: '2025-05-01T10:00:00Z', resourceVersion: '312' },
      provisioner: 'ebs.csi.aws.com',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
    })),
  });

describe('the server version', () => {
  it('reads gitVersion, also of managed clusters whose minor has a "+"', () => {
    expect(parseServerVersion(versionJson({ major: '1', minor: '31+', gitVersion: 'v1.31.7-eks-4096722' }))).toEqual({ major: 1, minor: 31, gitVersion: 'v1.31.7-eks-4096722' });
    expect(parseServerVersion(versionJson({ major: '1', minor: '30', gitVersion: 'v1.30.9-gke.1046000' }))).toMatchObject({ major: 1, minor: 30 });
    expect(parseServerVersion(versionJson({ major: '1', minor: '32+', gitVersion: 'weird' }))).toMatchObject({ major: 1, minor: 32 });
    expect(parseServerVersion(JSON.stringify({ clientVersion: { major: '1', minor: '34' } }))).toBeUndefined();
    expect(parseServerVersion('Unable to connect')).toBeUndefined();
  });

  it(`refuses a server older than ${MIN_SERVER_VERSION.major}.${MIN_SERVER_VERSION.minor}, naming its version`, () => {
    const old = serverVersionVerdict(ok(versionJson({ major: '1', minor: '29+', gitVersion: 'v1.29.15-eks-b707fbb' })), CTX);
    expect(old.problem).toMatch(/^context "prod" runs Kubernetes v1\.29\.15-eks-b707fbb, older than 1\.30, the oldest the platform runs on/);
    expect(serverVersionVerdict(ok(versionJson({ major: '1', minor: '30', gitVersion: 'v1.30.0' })), CTX)).toEqual({ note: 'Kubernetes v1.30.0' });
    expect(serverVersionVerdict(ok(versionJson({ major: '1', minor: '35', gitVersion: 'v1.35.0' })), CTX).problem).toBeUndefined();
    expect(serverVersionVerdict(ok(versionJson({ major: '2', minor: '0', gitVersion: 'v2.0.0' })), CTX).problem).toBeUndefined();
  });

  it('says how to fix a context it cannot reach', () => {
    const v = serverVersionVerdict(failed('error: context was not found for specified context: prod'), CTX);
    expect(v.problem).toContain('cannot reach the API server of context "prod": error: context was not found for specified context: prod');
    expect(v.problem).toContain('kubectl config get-contexts');
  });
});

describe('the StorageClass', () => {
  const aks = storageClassesJson([{ name: 'azurefile-csi' }, { name: 'managed-csi', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }]);

  it('passes with a default class when none is named, and with the named class', () => {
    expect(storageClassVerdict(ok(aks), undefined, CTX)).toEqual({ note: 'default StorageClass managed-csi' });
    expect(storageClassVerdict(ok(aks), 'azurefile-csi', CTX)).toEqual({ note: 'StorageClass azurefile-csi' });
    // The beta annotation still makes a class the default.
    const beta = storageClassesJson([{ name: 'gp2', annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'true' } }]);
    expect(storageClassVerdict(ok(beta), undefined, CTX).problem).toBeUndefined();
  });

  it('names the missing class and what the cluster has', () => {
    expect(storageClassVerdict(ok(aks), 'premium', CTX).problem).toBe(
      'the StorageClass "premium" (storageClass in the config file) does not exist in context "prod" (it has: azurefile-csi, managed-csi (default)): set storageClass to one of those (or leave it out for the default one) and `npm run synth`, or create that StorageClass.',
    );
    expect(storageClassVerdict(ok(storageClassesJson([])), 'premium', CTX).problem).toMatch(/\(it has none\): create that StorageClass\.$/);
  });

  it('refuses a cluster without a default class when none is named, with both ways out', () => {
    const eks = storageClassesJson([{ name: 'gp2', annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } }, { name: 'gp3' }]);
    const problem = storageClassVerdict(ok(eks), undefined, CTX).problem!;
    expect(problem).toContain('context "prod" has no default StorageClass');
    expect(problem).toContain('it has: gp2, gp3');
    expect(problem).toContain('set storageClass: gp2 in the config file');
    expect(problem).toContain('kubectl --context prod annotate storageclass gp2 storageclass.kubernetes.io/is-default-class=true');
    expect(storageClassVerdict(ok(storageClassesJson([])), undefined, CTX).problem).toContain('it has none');
  });
});

describe('an existing ClusterIssuer', () => {
  const before = clusterIssuerCheck(CTX, 'company-ca', 'before-changes') as Extract<ClusterCheck, { kind: 'cluster-issuer' }>;
  const after = clusterIssuerCheck(CTX, 'company-ca', 'after-cert-manager') as Extract<ClusterCheck, { kind: 'cluster-issuer' }>;
  const noCrd = failed('error: the server doesn\'t have a resource type "clusterissuers"');
  const notFound = failed('Error from server (NotFound): clusterissuers.cert-manager.io "company-ca" not found');

  it('passes when kubectl finds it', () => {
    expect(clusterIssuerVerdict(ok('clusterissuer.cert-manager.io/company-ca\n'), before, CTX)).toEqual({ note: 'ClusterIssuer company-ca' });
    expect(before.cmd.argv).toEqual(['kubectl', '--context', CTX, 'get', 'clusterissuers.cert-manager.io', 'company-ca', '-o', 'name']);
  });

  it('defers while cert-manager is not installed yet, and fails once it is', () => {
    expect(clusterIssuerVerdict(noCrd, before, CTX)).toEqual({ note: expect.stringContaining('checked once the cert-manager release is installed') });
    expect(clusterIssuerVerdict(noCrd, after, CTX).problem).toContain("cert-manager's CRDs are not in context \"prod\"");
  });

  it('names the missing issuer and the ways out', () => {
    for (const check of [before, after]) {
      const problem = clusterIssuerVerdict(notFound, check, CTX).problem!;
      expect(problem).toContain('the ClusterIssuer "company-ca" (tls.clusterIssuer in the config file) does not exist in context "prod"');
      expect(problem).toContain('tls: { acme: { server, email } }');
      expect(problem).toContain('`npm run up -- --context prod` again');
    }
    expect(clusterIssuerVerdict(notFound, after, CTX).problem).toContain('cert-manager is installed now');
    expect(clusterIssuerVerdict(failed('Error from server (Forbidden): clusterissuers.cert-manager.io "company-ca" is forbidden'), after, CTX).problem).toMatch(/^cannot read the ClusterIssuer "company-ca".*Forbidden/);
  });
});

describe("an external database's Secret", () => {
  const check = {
    kind: 'database-secret',
    service: 'course',
    namespace: 'courseops',
    name: 'course-database-url',
    key: 'url',
    cmd: { argv: [] },
  } as const satisfies ClusterCheck;

  it('passes when the Secret has the key (kubectl prints its name, then its key names)', () => {
    expect(databaseSecretVerdict(ok('course-database-url\nca.crt\nurl\n'), check, CTX)).toEqual({ note: 'Secret courseops/course-database-url (url)' });
  });

  it('names a missing Secret and how to create it', () => {
    const problem = databaseSecretVerdict(ok(''), check, CTX).problem!;
    expect(problem).toContain('service course uses an external database, but its Secret courseops/course-database-url (key "url": the DATABASE_URL) does not exist in context "prod"');
    expect(problem).toContain('kubectl --context prod -n courseops create secret generic course-database-url --from-file=url=database-url.txt');
  });

  it('names a missing key and the keys there are', () => {
    const problem = databaseSecretVerdict(ok('course-database-url\nDATABASE_URL\n'), check, CTX).problem!;
    expect(problem).toContain('the Secret courseops/course-database-url of service course\'s external database has no key "url" (it has: DATABASE_URL)');
    expect(databaseSecretVerdict(ok('course-database-url\n'), check, CTX).problem).toContain('(it has: no keys)');
  });

  it('reads only the key names, never the values', () => {
    const declared = parseServicesFile(FIXTURE_CLUSTER_SERVICES);
    const secret = clusterChecks(declared, CTX, true).find((c) => c.kind === 'database-secret')!;
    expect(secret.cmd.argv.join(' ')).toContain('-o go-template={{.metadata.name}}');
    expect(secret.cmd.argv.join(' ')).not.toMatch(/-o json|jsonpath|\{\{\$v\}\}/);
  });
});

describe('the checks of a cluster-profile services.json', () => {
  it('are the version, the StorageClass and each external database; the issuer only when it is an existing one', () => {
    const declared = parseServicesFile(FIXTURE_CLUSTER_SERVICES);
    expect(clusterChecks(declared, CTX, true).map((c) => c.kind)).toEqual(['server-version', 'storage-class', 'database-secret']);
    const existing = parseServicesFile({ ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, issuer: { name: 'company-ca', existing: true } } });
    expect(clusterChecks(existing, CTX, true).find((c) => c.kind === 'cluster-issuer')).toMatchObject({ phase: 'before-changes' });
    // Without a cert-manager release, its CRDs cannot arrive later: the issuer must exist now.
    expect(clusterChecks(existing, CTX, false).find((c) => c.kind === 'cluster-issuer')).toMatchObject({ phase: 'after-cert-manager' });
  });

  it('run all, then report every problem at once', async () => {
    const declared = parseServicesFile(FIXTURE_CLUSTER_SERVICES);
    const calls: string[][] = [];
    const runner: Runner = async (argv) => {
      calls.push(argv);
      if (argv.includes('version')) return ok(versionJson({ major: '1', minor: '28', gitVersion: 'v1.28.3' }));
      if (argv.includes('storageclasses.storage.k8s.io')) return ok(storageClassesJson([{ name: 'standard' }]));
      return ok('');
    };
    const err = await runChecks(clusterChecks(declared, CTX, true), { runner, context: CTX, beforeChanges: true }).catch((e: Error) => e);
    expect(calls).toHaveLength(3);
    const lines = (err as Error).message.split('\n');
    expect(lines[0]).toBe('The cluster of context "prod" is not ready for the platform (nothing was changed):');
    const starts = ['  - context "prod" runs Kubernetes v1.28.3,', '  - the StorageClass "managed-csi" (storageClass', '  - service course uses an external database'];
    expect(lines.slice(1).map((l, i) => l.startsWith(starts[i]!))).toEqual([true, true, true]);
  });
});
