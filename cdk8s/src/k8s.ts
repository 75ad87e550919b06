/** Re-export of the Kubernetes 1.27 low-level constructs and structs that ship with cdk8s-plus-27. */
export * from 'cdk8s-plus-27/lib/imports/k8s.js';
