// validate-kubernetes.mjs FILE — validates each manifest in FILE (a JSON array) against the Kubernetes
// OpenAPI schema, as compiled by kubernetes-models (one validator per kind; the schema of Kubernetes
// 1.32). Prints one line per error with the manifest's index, kind and the failing path; exits 1 on any
// error, 2 on a kind it has no schema for.
import { readFileSync } from "node:fs";
import { validate as pod } from "kubernetes-models/_schemas/IoK8sApiCoreV1Pod";
import { validate as service } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service";
import { validate as serviceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount";
import { validate as deployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment";

const validators = {
  "v1/Pod": pod,
  "v1/Service": service,
  "v1/ServiceAccount": serviceAccount,
  "apps/v1/Deployment": deployment,
};

const manifests = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
manifests.forEach((manifest, index) => {
  const kind = `${manifest.apiVersion}/${manifest.kind}`;
  const validate = validators[kind];
  if (!validate) {
    console.log(`${index} ${kind}: no schema for this kind`);
    process.exit(2);
  }
  if (!validate(manifest)) {
    for (const error of validate.errors) {
      console.log(`${index} ${kind} ${error.instancePath || "/"}: ${error.keyword} ${JSON.stringify(error.params)}`);
    }
    failed++;
  }
});
console.log(`${manifests.length - failed} of ${manifests.length} manifests valid`);
process.exit(failed === 0 ? 0 : 1);
