// Modules the box takes CustomResourceDefinitions from (not built): cert-manager and ECK at the versions
// the pinned charts install. Prometheus Operator's and Argo Rollouts' CRDs come from their own wrappers.
module courseops.test/tools/crds

go 1.24

require (
	github.com/cert-manager/cert-manager v1.21.1
	github.com/elastic/cloud-on-k8s/v3 v3.5.0
)
