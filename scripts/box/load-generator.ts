/**
 * A steady stream of user requests through the gateway, run inside the box namespace (the only place its
 * addresses exist): `rps` GETs a second to each URL, resolving every host to the gateway's IP and
 * trusting the given CA, one JSON line per answer ({t, url, status}; status 0 = no answer) to --out.
 * Stops at SIGTERM. Used by the box test to measure canary traffic shares and the blast radius.
 *   node --import tsx scripts/box/load-generator.ts --ip 10.244.0.9 --ca ca.crt --rps 20 --out f.jsonl URL...
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { ip: { type: 'string' }, ca: { type: 'string' }, rps: { type: 'string', default: '20' }, out: { type: 'string' } },
  allowPositionals: true,
});
if (!values.ip || !values.ca || !values.out || positionals.length === 0) {
  console.error('usage: load-generator --ip IP --ca FILE --out FILE [--rps N] URL...');
  process.exit(2);
}
const ca = readFileSync(values.ca);
const gatewayIP = values.ip;
const out = values.out;
let buffer: string[] = [];

function once(url: string): void {
  const started = Date.now();
  const req = request(url, {
    ca,
    timeout: 5000,
    // Every host name is the gateway, as /etc/hosts makes it on a kind machine.
    // Node 20 asks for every address (`all`) when it may race IPv4 and IPv6 (autoSelectFamily).
    lookup: (_host, opts, cb) =>
      (opts as { all?: boolean }).all
        ? (cb as unknown as (err: null, addrs: { address: string; family: number }[]) => void)(null, [{ address: gatewayIP, family: 4 }])
        : (cb as (err: null, addr: string, family: number) => void)(null, gatewayIP, 4),
    headers: { 'user-agent': 'courseops-box-load' },
  }, (res) => {
    res.resume();
    res.on('end', () => buffer.push(JSON.stringify({ t: started, url, status: res.statusCode ?? 0 })));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => buffer.push(JSON.stringify({ t: started, url, status: 0 })));
  req.end();
}

const flush = () => {
  if (buffer.length) appendFileSync(out, `${buffer.join('\n')}\n`);
  buffer = [];
};
const interval = 1000 / Number(values.rps);
const tick = setInterval(() => positionals.forEach(once), interval);
const flusher = setInterval(flush, 500);
process.on('SIGTERM', () => {
  clearInterval(tick);
  // Answers still in flight get a moment to land.
  setTimeout(() => {
    clearInterval(flusher);
    flush();
    process.exit(0);
  }, 1000);
});
