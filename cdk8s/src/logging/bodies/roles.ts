import type { estypes } from '@elastic/elasticsearch';

/** Kibana's application privileges for the default space (base privileges `read` and `all`). */
const kibana = (privilege: 'space_read' | 'space_all'): estypes.SecurityApplicationPrivileges => ({
  application: 'kibana-.kibana',
  privileges: [privilege],
  resources: ['space:default'],
});

export const LOG_INDICES = ['logs-*-*'];

/** Logstash: create documents in (and auto-create) the log data streams; `monitor` for its version/licence check. */
export const logWriter: estypes.SecurityPutRoleRequest = {
  name: 'log-writer',
  cluster: ['monitor'],
  indices: [{ names: LOG_INDICES, privileges: ['create_doc', 'auto_configure'] }],
  metadata: { managed_by: 'courseops' },
};

/** People who read logs: the log data streams only, and Kibana read-only. */
export const logReader: estypes.SecurityPutRoleRequest = {
  name: 'log-reader',
  cluster: [],
  indices: [{ names: LOG_INDICES, privileges: ['read', 'view_index_metadata'] }],
  applications: [kibana('space_read')],
  metadata: { managed_by: 'courseops' },
};

/** People who run the stack: retention and snapshot policies, restores, templates, Kibana. */
export const logAdmin: estypes.SecurityPutRoleRequest = {
  name: 'log-admin',
  cluster: ['monitor', 'manage_ilm', 'manage_slm', 'manage_index_templates', 'cluster:admin/snapshot/*'],
  indices: [{ names: ['logs-*', 'restored-logs-*', '.ds-logs-*'], privileges: ['all'] }],
  applications: [kibana('space_all')],
  metadata: { managed_by: 'courseops' },
};

export const roles = [logWriter, logReader, logAdmin] as const;
