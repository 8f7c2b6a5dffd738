//! Verification summaries (SLSA VSA) as a consumer reads them: never
//! panics; a predicate that reads writes back to the same summary; the
//! verify-vsa checks never panic on what was read.
#![no_main]

use attest::vsa::{VerificationSummary, VsaExpectations};
use attest::Statement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = dsse::cjson::parse_strict(data) else {
        return;
    };
    let Ok(statement) = Statement::from_value(value) else {
        return;
    };
    let Ok(summary) = VerificationSummary::from_statement(&statement) else {
        return;
    };
    let expectations = VsaExpectations {
        verifier_id: Some(summary.verifier.id.clone()),
        resource_uri: Some(summary.resource_uri.clone()),
        verified_levels: summary.verified_levels.clone(),
        policy_uri: summary.policy.uri.clone(),
        policy_digest: None,
    };
    // Its own fields are expected: only the result can refuse it.
    let passed = summary.verification_result == attest::vsa::VerificationResult::Passed;
    assert_eq!(expectations.check(&summary).is_ok(), passed);
    if let Ok(written) = summary.statement(statement.subject.clone()) {
        let again = VerificationSummary::from_statement(&written).expect("reads back");
        assert_eq!(again, summary, "the summary changed through writing");
    }
});
