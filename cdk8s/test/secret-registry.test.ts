import { describe, expect, it } from 'vitest';
import { SecretRegistry, type SecretSpec } from '../src/secrets.js';

const source: SecretSpec = { namespace: 'auth', name: 'clients', keys: [{ key: 'grafana', generate: 'password' }] };
const copy: SecretSpec = {
  namespace: 'monitoring',
  name: 'grafana-oauth',
  keys: [{ key: 'client-secret', copyFrom: { namespace: 'auth', name: 'clients', key: 'grafana' } }],
};
const plain: SecretSpec = { namespace: 'monitoring', name: 'admin', keys: [{ key: 'password', generate: 'password' }] };
const names = (r: SecretRegistry) => r.list().map((s) => s.name);

describe('SecretRegistry.addAll (each release declares its own Secrets, in install order)', () => {
  it('puts a copy after the Secret it copies from, and keeps the given order otherwise', () => {
    const registry = new SecretRegistry();
    registry.addAll([plain, copy, source]);
    expect(names(registry)).toEqual(['admin', 'clients', 'grafana-oauth']);
  });

  it('keeps an order that already has every source first', () => {
    const registry = new SecretRegistry();
    registry.addAll([source, plain, copy]);
    expect(names(registry)).toEqual(['clients', 'admin', 'grafana-oauth']);
  });

  it('refuses a copy of a Secret declared nowhere, naming it', () => {
    expect(() => new SecretRegistry().addAll([copy, plain])).toThrow(/grafana-oauth: client-secret copies auth\/clients\.grafana, not declared before/);
  });

  it('refuses copies in a loop instead of hanging', () => {
    const a: SecretSpec = { namespace: 'x', name: 'a', keys: [{ key: 'k', copyFrom: { namespace: 'x', name: 'b', key: 'k' } }] };
    const b: SecretSpec = { namespace: 'x', name: 'b', keys: [{ key: 'k', copyFrom: { namespace: 'x', name: 'a', key: 'k' } }] };
    expect(() => new SecretRegistry().addAll([a, b])).toThrow(/x\/a: k copies x\/b\.k, not declared before/);
  });
});
