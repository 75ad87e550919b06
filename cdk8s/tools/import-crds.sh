#!/usr/bin/env bash
# Regenerates cdk8s/imports/ from the CRD files listed in cdk8s/cdk8s.yaml (../shared/crds), offline.
# The generated files are committed. The sed makes the type-only imports explicit, as the repository's
# `verbatimModuleSyntax` requires.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf imports
CDK8S_CHECK_UPGRADE=false ../node_modules/.bin/cdk8s import --output imports
sed -i "s/^import { ApiObject, ApiObjectMetadata, GroupVersionKind } from 'cdk8s';/import { ApiObject, type ApiObjectMetadata, type GroupVersionKind } from 'cdk8s';/" imports/*.ts
echo "imports regenerated:"; ls -1 imports
