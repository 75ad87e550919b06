import { BASIC_AUTH, type SecretRegistry } from '../secrets.js';
import { LOGGING_NAMESPACE, labelsOf } from './names.js';

/**
 * The people and programs that log in to Elasticsearch and Kibana, as users of ECK's file realm: one
 * `kubernetes.io/basic-auth` Secret each (username, generated password, roles), created by the bring-up
 * from dist/secrets.json and referenced by `spec.auth.fileRealm`. Passwords are generated at deploy
 * time only; the roles are defined by the bootstrap Job (bodies/roles.ts) with the role API, which the
 * file realm's users resolve like any other role.
 */
export const users = {
  /** Logstash: writes the log data streams, nothing else. */
  writer: { secret: 'log-writer-user', username: 'log-writer', roles: ['log-writer'] },
  /** People who read logs in Kibana (Discover, dashboards), nothing else. */
  reader: { secret: 'log-reader-user', username: 'log-reader', roles: ['log-reader'] },
  /** People who run the stack: retention, snapshots and restores, templates, Kibana objects. */
  admin: { secret: 'log-admin-user', username: 'log-admin', roles: ['log-admin'] },
  /**
   * The bootstrap Job: it defines the roles themselves (role API, manage_security), which only a
   * superuser may grant, so it is a superuser; only the Job mounts its Secret.
   */
  bootstrap: { secret: 'log-bootstrap-user', username: 'log-bootstrap', roles: ['superuser'] },
} as const;

/** Declares the users' Secrets; returns their names for `spec.auth.fileRealm`. */
export function declareUsers(secrets: SecretRegistry): string[] {
  return Object.values(users).map((u) => {
    secrets.add({
      namespace: LOGGING_NAMESPACE,
      name: u.secret,
      type: BASIC_AUTH,
      labels: labelsOf('elasticsearch'),
      keys: [
        { key: 'username', value: u.username },
        { key: 'password', generate: 'password' },
        // Optional key of ECK's basic-auth file realm Secrets: the user's roles, comma-separated.
        { key: 'roles', value: u.roles.join(',') },
      ],
    });
    return u.secret;
  });
}
