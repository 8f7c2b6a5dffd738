# cosign's form (package signature, an `allow` rule), in Rego v1: the npm
# provenance of sigstore@2.1.0 was built by sigstore/sigstore-js on a
# GitHub-hosted runner, as the predicate and the certificate both say.
package signature

import rego.v1

allow if {
	input.predicateType == "https://slsa.dev/provenance/v1"
	input.predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js"
	input.predicate.runDetails.builder.id == "https://github.com/actions/runner/github-hosted"
	input.signer.certificate.sourceRepositoryURI == "https://github.com/sigstore/sigstore-js"
	input.signer.certificate.runnerEnvironment == "github-hosted"
}
