# witness's form (a `deny` set of messages), in Rego v0: releases must be
# built from a tag. sigstore@2.1.0 was built from refs/heads/main, so this
# policy denies its provenance with the message below.
package release

deny[msg] {
	ref := input.predicate.buildDefinition.externalParameters.workflow.ref
	not startswith(ref, "refs/tags/")
	msg := sprintf("built from %s, not from a release tag", [ref])
}

deny[msg] {
	not input.predicate.buildDefinition.externalParameters.workflow.ref
	msg := "the provenance names no source ref"
}
