import { spawn, execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/**
 * cdk8s/README.md "Adding a service", done to a copy of the repository exactly as written, and nothing else:
 *   1. write the service in services/<name>/ (here: a copy of services/course, renamed) and `npm install`;
 *   2. declare it in cdk8s/src/services.ts and `npm run synth`.
 * Then everything the repository runs for a service must have it: the manifests (workload, database, backup,
 * scrape, alerts, dashboard, canary, network policy), dist/services.json, the image build and load of
 * `npm run up`, the image verification's list, the backup tooling, the TypeScript build and `npm run dev`.
 */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const base = mkdtempSync(path.join(tmpdir(), 'courseops-add-a-service-'));
const copy = path.join(base, 'repo');
// The copy's scripts read what they need from its own files; COURSEOPS_* of this shell must not leak in.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COURSEOPS_') && !k.startsWith('npm_')));
const inCopy = (cmd: string, args: string[], timeout = 120_000) => run(cmd, args, { cwd: copy, env, timeout, maxBuffer: 64 * 2 ** 20 });
let port = 0;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
    server.on('error', reject);
  });

/** Step 1: the package, from a copy of the course service with its name and route changed. */
function writeGradesPackage(): void {
  const from = path.join(copy, 'services/course');
  const to = path.join(copy, 'services/grades');
  cpSync(from, to, { recursive: true, filter: (src) => !/\/(dist|test|node_modules)$|tsbuildinfo$/.test(src) });
  const edit = (file: string, pairs: [string, string][]) => {
    let text = readFileSync(path.join(to, file), 'utf8');
    for (const [a, b] of pairs) {
      expect(text, `${file} has ${a}`).toContain(a);
      text = text.replaceAll(a, b);
    }
    writeFileSync(path.join(to, file), text);
  };
  edit('package.json', [['@courseops/course', '@courseops/grades']]);
  edit('src/service.ts', [
    ["name: 'course'", "name: 'grades'"],
    ["'/api/courses'", "'/api/grades'"],
  ]);
}

/** Step 2: the declaration, beside the others in cdk8s/src/services.ts. */
function declareGrades(): void {
  const file = path.join(copy, 'cdk8s/src/services.ts');
  const text = readFileSync(file, 'utf8');
  const list = 'export const services: readonly ServiceDecl[] = [course, teacher, status];';
  expect(text).toContain(list);
  writeFileSync(
    file,
    text.replace(
      list,
      `export const grades: ServiceDecl = {
  name: 'grades',
  description: 'Grades of a course',
  port: ${port},
  replicas: { min: 2, max: 3 },
  resources: small,
  database: { storage: '1Gi' },
  ingress: { host: 'api', path: '/api/grades' },
  calls: [{ service: 'teacher', soft: true, urlEnv: 'TEACHER_SERVICE_URL' }],
};

export const services: readonly ServiceDecl[] = [course, teacher, status, grades];`,
    ),
  );
}

beforeAll(async () => {
  port = await freePort();
  // The repository as a clone has it (tracked files, and new ones not ignored), with this checkout's node_modules.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root }).toString().split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(root, file))) continue;
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    copyFileSync(path.join(root, file), path.join(copy, file));
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));

  writeGradesPackage();
  // The lockfile learns of the new workspace; its dependencies are the course service's, so nothing is fetched.
  await inCopy('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
  declareGrades();
  await inCopy('npm', ['run', '-s', 'synth']);
}, 300_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
const manifests = (): Obj[] => {
  const dir = path.join(copy, 'dist/manifests');
  return readdirSync(dir).flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Obj)).filter(Boolean);
};

describe('adding a service takes the two steps of cdk8s/README.md', () => {
  it('records the new package in the lockfile (root workspaces take services/*)', () => {
    const lock = JSON.parse(readFileSync(path.join(copy, 'package-lock.json'), 'utf8')) as { packages: Record<string, { name?: string }> };
    expect(lock.packages['services/grades']?.name).toBe('@courseops/grades');
  });

  it('synthesizes its workload, database, backup, scrape, alerts, dashboard, canary and network policy', () => {
    const objects = manifests();
    const has = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
    for (const [kind, name] of [
      ['Rollout', 'grades'],
      ['Service', 'grades'],
      ['HTTPRoute', 'grades'],
      ['StatefulSet', 'grades-postgresql'],
      ['CronJob', 'grades-backup'],
      ['ServiceMonitor', 'grades'],
      ['PrometheusRule', 'grades-rules'],
      ['ConfigMap', 'dashboard-courseops-grades-red'],
      ['AnalysisTemplate', 'grades-canary'],
      ['NetworkPolicy', 'grades-egress'],
    ] as const) {
      expect(has(kind, name), `${kind} ${name}`).toBe(true);
    }
    const egress = JSON.stringify(objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'grades-egress'));
    expect(egress).toContain('"app.kubernetes.io/name":"teacher"');
    expect(existsSync(path.join(copy, 'dist/prometheus/rules/grades-alerts.rules.yaml'))).toBe(true);
  });

  it('writes it to dist/services.json with its image, route, calls and database', () => {
    const file = JSON.parse(readFileSync(path.join(copy, 'dist/services.json'), 'utf8')) as { services: { name: string }[] };
    expect(file.services.find((s) => s.name === 'grades')).toEqual({
      name: 'grades',
      namespace: 'courseops',
      port,
      image: 'courseops/grades:dev',
      ingress: { host: 'api.courseops.test', path: '/api/grades' },
      calls: [{ service: 'teacher', soft: true }],
      probes: [],
      database: 'in-cluster',
    });
  });

  it('is built and loaded by npm run up, listed by the image verification and known to the backup tooling', async () => {
    const { stdout: plan } = await inCopy('npx', ['tsx', 'scripts/cluster/up.ts', '--dry-run']);
    expect(plan).toContain(`docker build -f services/Dockerfile --build-arg SERVICE=grades --build-arg PORT=${port} -t courseops/grades:dev .`);
    expect(plan).toContain('kind load docker-image courseops/grades:dev');
    const { stdout: images } = await inCopy('npx', ['tsx', 'scripts/images/declared.ts']);
    expect(images).toContain(`service grades ${port} courseops/grades:dev\n`);
    const { stdout: backup } = await inCopy('npx', ['tsx', '--conditions=source', 'scripts/backup/cli.ts', 'backup', 'grades', '--dry-run']);
    expect(backup).toContain('create job grades-backup-manual-');
  }, 120_000);

  it('compiles with the TypeScript build (tsc -b services/*/)', async () => {
    await inCopy('npx', ['tsc', '-b', 'services/grades'], 180_000);
    expect(existsSync(path.join(copy, 'services/grades/dist/main.js'))).toBe(true);
  }, 200_000);

  it('runs under npm run dev on its declared port, ready, answering its route and metrics', async () => {
    const child = spawn('npm', ['run', '-s', 'dev', '--', 'grades', '--no-monitoring'], { cwd: copy, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('courseops is running') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(output, output).toContain('courseops is running');
      expect(output).toMatch(new RegExp(`grades API +http://localhost:${port}/api/grades`));
      expect((await fetch(`http://localhost:${port}/readyz`)).status).toBe(200);
      const list = await fetch(`http://localhost:${port}/api/grades`);
      expect(list.status).toBe(200);
      expect(await list.json()).toMatchObject({ items: [] });
      // The request just made, counted under its own route (the cluster adds the service label when it scrapes).
      expect(await (await fetch(`http://localhost:${port}/metrics`)).text()).toMatch(/^http_requests_total\{[^}]*route="\/api\/grades"[^}]*\} 1$/m);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    }
    await exited;
    // Ctrl-C: the service shut down gracefully and let go of its port.
    await expect.poll(() => output, { timeout: 15_000 }).toMatch(/grades.*stopped/);
    await expect(fetch(`http://localhost:${port}/healthz`)).rejects.toThrow();
  }, 120_000);
});
