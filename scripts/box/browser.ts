/**
 * A browser in the box: Debian's Chromium, driven by playwright-core, running inside the box's network
 * namespace the way a user of the kind cluster runs one: the platform's host names resolve to the node
 * (the /etc/hosts line `up` prints, from dist/hosts.json), the node's ports 80 and 443 reach Traefik's
 * entry points (kind's hostPorts), and the platform CA is trusted as the user trusts it, in the browser's
 * certificate store (Chromium's NSS database, written with certutil), with every certificate check on.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTcpRelay } from './auth.js';
import { boxNetwork, type BoxState } from './control-plane.js';
import { addNetnsHosts } from './netns.js';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * kind's hostPorts in the box: the node's address (on the box namespace's loopback) relays each hostPort
 * to Traefik's entry point on its pod IP, and every public host name resolves to the node, as the
 * /etc/hosts line of `up` makes it resolve to the kind node on a user's machine. Returns the node's address.
 */
export async function startHostPorts(state: BoxState, traefikIP: string, ports: readonly { readonly port: number; readonly hostPort?: number }[], hostNames: readonly string[]): Promise<string> {
  const node = boxNetwork.nodeIP;
  for (const p of ports.filter((x) => x.hostPort !== undefined)) {
    // Plain HTTP gets an answer from the TLS entry point too (Go's 400 for HTTP sent to an HTTPS server).
    await startTcpRelay(state, `hostport-${p.hostPort}`, { ip: node, port: p.hostPort! }, { ip: traefikIP, port: p.port }, { ownAddress: false });
  }
  addNetnsHosts(state.netns, Object.fromEntries(hostNames.map((h) => [h, node])));
  return node;
}

/**
 * Chromium in the box namespace. playwright-core starts the executable it is given with
 * --remote-debugging-pipe (file descriptors 3 and 4); a wrapper script runs Chromium through
 * `ip netns exec`, which keeps those descriptors and bind-mounts the namespace's hosts file over /etc/hosts.
 * HOME points at a folder whose NSS database (.pki/nssdb) trusts `ca` as a certificate authority for
 * TLS servers and nothing else; Playwright's ignoreHTTPSErrors stays off.
 */
export async function launchBoxChromium(state: BoxState, ca: string): Promise<Browser> {
  const home = join(state.dir, 'chromium-home');
  const nssdb = join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
  execFileSync('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'courseops platform CA (box)', '-t', 'C,,', '-i', ca]);
  const wrapper = join(state.dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${state.netns}' ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    env: { ...process.env, HOME: home },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--no-proxy-server'],
  });
}

/**
 * Signs in on Dex's login page (the password connector's form of web/templates/password.html: #login,
 * #password, #submit-login), as a person would type it, once the page shows it.
 */
export async function dexSignIn(page: Page, user: { readonly email: string; readonly password: string }): Promise<void> {
  await page.locator('#login').fill(user.email);
  await page.locator('#password').fill(user.password);
  await page.locator('#submit-login').click();
}

/** The session cookie a browser holds for oauth2-proxy (`name`, or its parts name_0, name_1 … joined), if any. */
export async function sessionCookie(context: BrowserContext, name: string): Promise<string | undefined> {
  const parts = (await context.cookies()).filter((c) => c.name === name || new RegExp(`^${name}_\\d+$`).test(c.name));
  if (parts.length === 0) return undefined;
  const whole = parts.find((c) => c.name === name);
  if (whole) return whole.value;
  return parts.sort((a, b) => Number(a.name.slice(name.length + 1)) - Number(b.name.slice(name.length + 1))).map((c) => c.value).join('');
}
