// @ts-check
/**
 * Mutation testing (StrykerJS 9.6.1, the last release for Node 20): `npm run test:mutation`.
 * scripts/mutation/run.ts runs Stryker once per area below, each area's mutants against the tests that
 * cover it, and fails when a file scores under THRESHOLD. README "Mutation testing" says how to read it.
 */

/** The least mutation score of every mutated file, in percent (killed and timed out over all valid mutants). */
export const THRESHOLD = 85;

/**
 * Each area: the files it mutates, the test files that may kill them (Stryker picks, per mutant, the tests
 * that reach it), and the baseline it keeps under scripts/mutation/baseline/.
 * @type {{ name: string; mutate: string[]; testFiles: string[] }[]}
 */
export const areas = [
  {
    name: 'kit-http',
    mutate: ['services/kit/src/http/*.ts'],
    // The kit's own tests, on small apps built with the kit. The services' tests reach the same code too,
    // through a database that each mutant would start again (ten times the time per mutant).
    testFiles: [
      'services/kit/test/pagination.test.ts',
      'services/kit/test/rateLimitKey.test.ts',
      'services/kit/test/http-conventions.test.ts',
      'services/kit/test/instrument.test.ts',
      'services/kit/test/faults.test.ts',
      'services/kit/test/refused-connections.test.ts',
    ],
  },
  {
    name: 'teacher-client',
    mutate: ['services/teacher/src/courseClient.ts', 'services/teacher/src/deadline.ts'],
    testFiles: [
      'services/teacher/test/courseClient.test.ts',
      'services/teacher/test/deadline.test.ts',
      'services/teacher/test/resilience.test.ts',
      'services/teacher/test/breaker.test.ts',
      'services/teacher/test/assignments.test.ts',
    ],
  },
  {
    name: 'status-incidents',
    mutate: ['services/status/src/alerts.ts', 'services/status/src/report.ts'],
    testFiles: [
      'services/status/test/alerts.test.ts',
      'services/status/test/alertTimes.test.ts',
      'services/status/test/database-loss.test.ts',
      'services/status/test/recordAlerts.test.ts',
      'services/status/test/report.test.ts',
    ],
  },
  // cdk8s: the tests synthesize the whole app while their files load, so every mutant here is reached
  // at load and re-runs, with the mutant on, each test file that reached it (seconds each). Two areas,
  // so a mutant re-runs only the tests about its own concern, not every file that synthesizes the app.
  {
    name: 'cdk8s-delivery',
    mutate: ['cdk8s/src/delivery/*.ts'],
    testFiles: [
      'cdk8s/test/delivery.test.ts',
      'cdk8s/test/delivery-gateway-metrics.test.ts',
      'cdk8s/test/delivery-analysis-gates.test.ts',
      'scripts/test/canary-analysis.test.ts',
    ],
  },
  {
    name: 'cdk8s-networking',
    mutate: ['cdk8s/src/networking/*.ts'],
    testFiles: ['cdk8s/test/policy.test.ts', 'cdk8s/test/network-profiles.test.ts', 'cdk8s/test/gateway.test.ts', 'cdk8s/test/trusted-proxies.test.ts'],
  },
];

/**
 * Mutants no test can kill because the mutated program behaves the same. Each is named by file, line,
 * mutator and replacement, with why; scripts/mutation/score.ts leaves them out of the score and fails
 * when one no longer matches a surviving mutant (so the list cannot go stale).
 * @type {{ file: string; line: number; mutator: string; replacement: string; why: string }[]}
 */
export const equivalentMutants = [
  {
    file: "services/teacher/src/courseClient.ts",
    line: 80,
    mutator: "StringLiteral",
    replacement: "``",
    why: "a CourseRateLimited's message is never read: it becomes { status: 'rate_limited', retryAfterSeconds }",
  },
  {
    file: "services/teacher/src/courseClient.ts",
    line: 226,
    mutator: "StringLiteral",
    replacement: "``",
    why: "a CourseMissing's message is never read: it becomes { status: 'missing' }",
  },
  {
    file: "services/teacher/src/courseClient.ts",
    line: 225,
    mutator: "OptionalChaining",
    replacement: "res.body.cancel",
    why: "fetch gives every answer a body but 101, 204, 205 and 304 (null-body statuses), so a 404's body is never null",
  },
  {
    file: "services/teacher/src/courseClient.ts",
    line: 229,
    mutator: "OptionalChaining",
    replacement: "res.body.cancel",
    why: "fetch gives every answer a body but 101, 204, 205 and 304 (null-body statuses), so a 429's body is never null",
  },
  {
    file: "services/status/src/alerts.ts",
    line: 102,
    mutator: "ObjectLiteral",
    replacement: "{}",
    why: "an untargeted ON CONFLICT DO NOTHING also covers the primary key, a fresh random UUID: the open-fingerprint index is the only conflict either way",
  },
  {
    file: "services/status/src/report.ts",
    line: 50,
    mutator: "EqualityOperator",
    replacement: "serviceStates.indexOf(s) >= serviceStates.indexOf(worst)",
    why: "on equal ranks it keeps the other of two equal states: the same value",
  },
  {
    file: "cdk8s/src/networking/policies.ts",
    line: 24,
    mutator: "BooleanLiteral",
    replacement: "false",
    why: "peerJson tells peers apart by key ('world' in peer), never by value; the Peer type only admits true",
  },
  {
    file: "cdk8s/src/networking/policies.ts",
    line: 25,
    mutator: "BooleanLiteral",
    replacement: "false",
    why: "peerJson tells peers apart by key ('anyNamespace' in peer), never by value; the Peer type only admits true",
  },
  {
    file: "services/kit/src/http/clientAddress.ts",
    line: 45,
    mutator: "ConditionalExpression",
    replacement: "true",
    why: "with no bad hop the header is rewritten as its own hops joined by \", \", which proxy-addr reads the same",
  },
  {
    file: "services/kit/src/http/clientAddress.ts",
    line: 47,
    mutator: "ConditionalExpression",
    replacement: "true",
    why: "an empty X-Forwarded-For instead of none: proxy-addr takes the socket peer either way",
  },
  {
    file: "services/kit/src/http/clientAddress.ts",
    line: 47,
    mutator: "EqualityOperator",
    replacement: "believable.length >= 0",
    why: "an empty X-Forwarded-For instead of none: proxy-addr takes the socket peer either way",
  },
  {
    file: "services/kit/src/http/errors.ts",
    line: 67,
    mutator: "ConditionalExpression",
    replacement: "true",
    why: "an undefined status fails `status >= 400` anyway; the check is there for the type",
  },
  {
    file: "services/kit/src/http/hostHeader.ts",
    line: 12,
    mutator: "ConditionalExpression",
    replacement: "true",
    why: "Node's HTTP/1 server only parses HTTP/1.x (and refuses HTTP/2's preface), so the major version is always 1",
  },
  {
    file: 'services/kit/src/http/rateLimit.ts',
    line: 55,
    mutator: 'StringLiteral',
    replacement: '"Stryker was here!"',
    why: "unreachable: req.ip is read while the socket is alive (request id, then the limiter), and a bucket's name is never shown",
  },
  {
    file: 'services/kit/src/http/rateLimit.ts',
    line: 45,
    mutator: 'OptionalChaining',
    replacement: '(problem as {\n  code?: unknown;\n} | undefined).code',
    why: 'the library reports only Error objects (its checks throw them; the memory store never fails), never undefined',
  },
  {
    file: 'services/kit/src/http/instrument.ts',
    line: 32,
    mutator: 'StringLiteral',
    replacement: '""',
    why: "startsWith('::ffff:') only saves the regex test on other addresses; the regex itself requires the prefix",
  },
  {
    file: 'services/kit/src/http/instrument.ts',
    line: 32,
    mutator: 'Regex',
    replacement: '/::ffff:\\d+\\.\\d+\\.\\d+\\.\\d+$/',
    why: "the address already starts with ::ffff: (checked just before), and a valid address has no second '::'",
  },
  {
    file: 'services/kit/src/http/instrument.ts',
    line: 32,
    mutator: 'Regex',
    replacement: '/^::ffff:\\d+\\.\\d+\\.\\d+\\.\\d+/',
    why: 'nothing follows the dotted quad in a valid address: req.ip is the peer or a checked X-Forwarded-For entry, zone-free',
  },
];

/**
 * Files not yet at THRESHOLD, each held at the score it has (the gate fails when it falls under its floor,
 * and when it reaches THRESHOLD and should leave this list), with why it is not there yet.
 * @type {{ file: string; floor: number; why: string }[]}
 */
export const belowThreshold = [];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  plugins: ['@stryker-mutator/vitest-runner', './scripts/mutation/vitest-crash-killed.mjs'],
  testRunner: 'vitest-crash-killed',
  vitest: { configFile: 'vitest.config.ts', related: false },
  // In place: the services import the kit through its workspace link (node_modules/@courseops/kit points at
  // services/kit), which a sandbox copy would leave pointing at the unmutated sources.
  inPlace: true,
  coverageAnalysis: 'perTest',
  // A mutant reached while a module loads or a suite sets up (an app built in beforeAll) is "static":
  // Stryker activates it before the test files load and runs all of the area's tests again.
  ignoreStatic: false,
  incremental: true,
  // vitest does not type-check, so the files need no `// @ts-nocheck` (Stryker's default writes one into
  // every source file, which in place means the whole work tree).
  disableTypeChecks: false,
  concurrency: 2,
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 15,
  reporters: ['clear-text', 'progress-append-only'],
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
