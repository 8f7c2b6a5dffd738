//! ITE-7 X.509 functionaries, as in-toto-golang verifies them
//! (`in_toto/certconstraint.go`, `verifylib.go`
//! `VerifyLinkSignatureThesholds`, `keylib.go` `VerifyCertificateTrust`).
//!
//! A layout lists certificate authorities (`rootcas`, `intermediatecas`:
//! key dicts whose `keyval.certificate` is PEM) and a step lists
//! `cert_constraints`. A Metablock link then counts for the step when the
//! signature its file name points to carries a certificate (`cert`, PEM)
//! that
//!
//! 1. chains to a layout root through the layout's intermediates, every
//!    certificate valid at the verification time (links carry no signing
//!    time; in-toto-golang checks at `time.Now()`), the extended key usage
//!    of each being absent, `anyExtendedKeyUsage` or server authentication
//!    (Go's `x509.Verify` default);
//! 2. meets at least one constraint: for each attribute (`common_name`,
//!    `dns_names`, `emails`, `organizations`, `uris`, and `roots`, which is
//!    compared with the ids of *all* the layout's `rootcas`, not with the
//!    root the chain ends at) the certificate's values are exactly the
//!    constraint's, as sets; `["*"]` allows anything, `[]` and `[""]` allow
//!    nothing (a field left out is `[]`);
//! 3. holds the key whose signature verifies (the signature under the id of
//!    the certificate's key).
//!
//! DSSE links carry no certificate (in-toto-golang drops it too), so only
//! Metablock links can be signed by a certificate. A file named for a key
//! functionary of the step is that functionary's link only (in-toto-golang
//! would also try its certificate when the key's signature fails).
//!
//! Stricter than in-toto-golang, and documented: an unknown field in a
//! constraint (a misspelt `roots`, say) makes the layout malformed rather
//! than being ignored; every PEM block of a CA entry must be a certificate
//! that parses; a link's `cert` must be exactly one certificate; a URI is
//! compared as the certificate spells it (Go re-serializes it first); a CA
//! certificate cannot be the leaf (webpki). As in Go, the root's own
//! validity period and extended key usage are checked too; name constraints
//! and path lengths are webpki's reading of RFC 5280.
//!
//! One file per job: `constraints` (a step's constraints and the matching
//! rule), `cert` (the layout's CAs and a link's leaf, read), `chain` (chains
//! built by webpki, at the verification time), `algorithms` (the signature
//! checks webpki uses).

mod algorithms;
mod cert;
mod chain;
mod constraints;

pub use cert::{CaCertificate, LeafCert};
pub use chain::CertTrust;
pub use constraints::{
    values_match, CertConstraint, CertRefusal, Mismatch, ALLOW_ALL, CONSTRAINT_FIELDS,
};

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::time::UnixTime;

    /// 2028-01-01T00:00:00Z: every fixture valid but `expired.cert.pem`.
    pub(crate) const NOW: UnixTime = 1_830_297_600;

    pub(crate) fn golang(name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/peers/in-toto-golang");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    pub(crate) fn fixture(name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/x509");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    fn cas(pems: &[String]) -> BTreeMap<String, CaCertificate> {
        pems.iter()
            .map(|pem| CaCertificate::from_pem(pem).unwrap())
            .collect()
    }

    /// in-toto-golang's test root and intermediate (`test/data`).
    fn golang_trust() -> CertTrust {
        CertTrust::new(
            &cas(&[golang("root.cert.pem")]),
            &cas(&[golang("example.com.intermediate.cert.pem")]),
        )
        .unwrap()
    }

    /// A constraint any certificate meets: only its chain is checked.
    fn any() -> [CertConstraint; 1] {
        [constraint("*", &["*"], &["*"], &["*"], &["*"], &["*"])]
    }

    /// Why in-toto-golang's test CAs refuse the fixture `leaf` (under
    /// [`any`] constraint).
    fn golang_refusal(leaf: &str) -> CertRefusal {
        let leaf = LeafCert::from_pem(&fixture(leaf)).unwrap();
        golang_trust().check("s", &any(), &leaf, NOW).unwrap_err()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    /// in-toto-golang `certconstraint_test.go` `TestCheckCertConstraint`,
    /// case for case.
    #[test]
    fn values_match_as_in_toto_golang_checks_a_constraint() {
        let cases: [(&[&str], &[&str], bool); 8] = [
            (&["test1", "test2"], &["test2", "test1"], true),
            (&["test1", "test2"], &["test2"], false),
            (&[ALLOW_ALL], &["any", "thing", "goes"], true),
            (&[], &[], true),
            (&[], &["test1"], false),
            (&[""], &[""], true),
            (&[""], &["test1"], false),
            (&["test1", "test2"], &["test1", "test2", "test3"], false),
        ];
        for (constraints, values, expected) in cases {
            assert_eq!(
                values_match(&strings(constraints), &strings(values)),
                expected,
                "constraints {constraints:?}, values {values:?}"
            );
        }
    }

    /// `*` is a wildcard only alone: beside another value it is literal;
    /// a value twice is one too many.
    #[test]
    fn a_wildcard_is_a_wildcard_only_alone() {
        assert!(!values_match(&strings(&["*", "a"]), &strings(&["b"])));
        assert!(values_match(&strings(&["*", "a"]), &strings(&["a", "*"])));
        assert!(!values_match(&strings(&["a"]), &strings(&["a", "a"])));
        assert!(values_match(&strings(&["*"]), &[]));
    }

    fn constraint(
        cn: &str,
        dns: &[&str],
        emails: &[&str],
        orgs: &[&str],
        roots: &[&str],
        uris: &[&str],
    ) -> CertConstraint {
        CertConstraint::new(
            cn.into(),
            strings(dns),
            strings(emails),
            strings(orgs),
            strings(roots),
            strings(uris),
        )
    }

    /// in-toto-golang `TestConstraintCheck`, case for case, on a
    /// certificate with the same names (`testdata/x509/step1.cert.pem`,
    /// issued under in-toto-golang's test intermediate), the roots given as
    /// `["example"]` as there.
    #[test]
    fn constraints_check_as_in_toto_golang_checks_them() {
        let mut trust = golang_trust();
        trust.root_ids = strings(&["example"]);
        let cert = LeafCert::from_pem(&fixture("step1.cert.pem")).unwrap();
        let full = || {
            constraint(
                "step1.example.com",
                &["example.com"],
                &["example@example.com"],
                &["example"],
                &["example"],
                &["spiffe://example.com/step1"],
            )
        };
        let all =
            |roots: &[&str], uris: &[&str]| constraint("*", &["*"], &["*"], &["*"], roots, uris);
        let with = |edit: &dyn Fn(&mut CertConstraint)| {
            let mut c = full();
            edit(&mut c);
            c
        };
        let cases: Vec<(&str, CertConstraint, bool)> = vec![
            ("exact", full(), true),
            ("all wildcards", all(&["*"], &["*"]), true),
            ("all empty", constraint("", &[], &[], &[], &[], &[]), false),
            (
                "all [\"\"]",
                constraint("", &[""], &[""], &[""], &[""], &[""]),
                false,
            ),
            (
                "no common name",
                with(&|c| c.common_name = String::new()),
                false,
            ),
            ("no dns names", with(&|c| c.dns_names.clear()), false),
            ("no emails", with(&|c| c.emails.clear()), false),
            (
                "no organizations",
                with(&|c| c.organizations.clear()),
                false,
            ),
            ("no roots", with(&|c| c.roots.clear()), false),
            ("another root", all(&["example2"], &["*"]), false),
            ("no uris", with(&|c| c.uris.clear()), false),
            (
                "an extra uri",
                all(&["*"], &["spiffe://example.com/step1", "step1.example.com"]),
                false,
            ),
            (
                "another uri",
                all(&["*"], &["spiffe://example.com/step2"]),
                false,
            ),
        ];
        for (name, constraint, expected) in cases {
            let verdict = trust.check("step1", &[constraint], &cert, NOW);
            assert_eq!(verdict.is_ok(), expected, "{name}: {verdict:?}");
        }
    }

    /// The refusal names the step, the constraint, the attribute, and the
    /// expected and found values.
    #[test]
    fn a_refusal_names_step_constraint_expected_and_found() {
        let trust = golang_trust();
        let cert = LeafCert::from_pem(&fixture("other-org.cert.pem")).unwrap();
        let c = constraint(
            "write-code.example.com",
            &[],
            &[],
            &["example"],
            &["*"],
            &["spiffe://example.com/write-code"],
        );
        let refusal = trust
            .check("write-code", &[c.clone(), c], &cert, NOW)
            .unwrap_err();
        let shown = refusal.to_string();
        assert!(
            shown.contains(r#"step "write-code""#)
                && shown.contains(r#"[0] organization: expected ["example"], found ["other"]"#)
                && shown.contains("[1] organization"),
            "{shown}"
        );
    }

    /// in-toto-golang `keylib_test.go` `TestVerifyCertificateTrust`: its
    /// write-code leaf chains through its intermediate to its root; not
    /// without the intermediate, not without the root.
    #[test]
    fn chains_as_in_toto_golang_verifies_them() {
        let leaf = LeafCert::from_pem(&golang("example.com.write-code.cert.pem")).unwrap();
        let roots = cas(&[golang("root.cert.pem")]);
        let intermediates = cas(&[golang("example.com.intermediate.cert.pem")]);
        let any = any();
        let check = |roots, intermediates| {
            CertTrust::new(roots, intermediates)
                .unwrap()
                .check("write-code", &any, &leaf, NOW)
        };
        let empty = BTreeMap::new();
        check(&roots, &intermediates).unwrap();
        let no_intermediate = check(&roots, &empty).unwrap_err();
        assert!(
            no_intermediate.to_string().contains("issuer unknown"),
            "{no_intermediate}"
        );
        assert!(matches!(
            check(&empty, &intermediates),
            Err(CertRefusal::Chain { .. })
        ));
    }

    #[test]
    fn an_expired_certificate_does_not_chain() {
        let refusal = golang_refusal("expired.cert.pem");
        assert!(refusal.to_string().contains("expired"), "{refusal}");
        // The same certificate the day it was issued.
        let issued = LeafCert::from_pem(&fixture("step1.cert.pem")).unwrap();
        golang_trust().check("s", &any(), &issued, NOW).unwrap();
    }

    /// A root expired while the certificates under it are still valid
    /// (`short-root.cert.pem`, one day): no chain, and the message says it
    /// is the root.
    #[test]
    fn a_root_outside_its_validity_is_no_root() {
        let leaf = LeafCert::from_pem(&fixture("under-short-root.cert.pem")).unwrap();
        let any = any();
        let trust =
            CertTrust::new(&cas(&[fixture("short-root.cert.pem")]), &BTreeMap::new()).unwrap();
        let refusal = trust.check("s", &any, &leaf, NOW).unwrap_err();
        assert!(refusal.to_string().contains("not valid at"), "{refusal}");
    }

    /// A root with the layout root's name but another key: what it issued
    /// does not chain.
    #[test]
    fn a_certificate_of_a_look_alike_root_does_not_chain() {
        let refusal = golang_refusal("untrusted.cert.pem");
        assert!(
            matches!(refusal, CertRefusal::Chain { .. })
                && refusal.to_string().contains("does not verify"),
            "{refusal}"
        );
        // Trusting the look-alike instead, it does.
        let trust = CertTrust::new(
            &cas(&[fixture("untrusted-root.cert.pem")]),
            &BTreeMap::new(),
        )
        .unwrap();
        let leaf = LeafCert::from_pem(&fixture("untrusted.cert.pem")).unwrap();
        trust.check("s", &any(), &leaf, NOW).unwrap();
    }

    /// Go's `x509.Verify` asks for server authentication by default: a
    /// code-signing-only certificate does not chain there, nor here.
    #[test]
    fn extended_key_usage_is_go_default() {
        let refusal = golang_refusal("codesign.cert.pem");
        assert!(
            refusal.to_string().contains("extended key usage"),
            "{refusal}"
        );
    }

    /// in-toto-golang `TestLoadLayoutCertificates`: a root or intermediate
    /// whose certificate is not one is refused.
    #[test]
    fn a_ca_entry_without_a_certificate_is_refused() {
        let (id, ca) = CaCertificate::from_pem(&golang("root.cert.pem")).unwrap();
        let mut dict = ca.to_value();
        dict["keyval"]["certificate"] = "123123123".into();
        for field in ["rootcas", "intermediatecas"] {
            assert!(CaCertificate::from_key_dict(field, &id, dict.clone()).is_err());
        }
        // listed under another id
        assert!(CaCertificate::from_key_dict("rootcas", "ab", ca.to_value()).is_err());
    }

    /// A certificate's key is named as in-toto-golang names it
    /// (`keylib_test.go`: "rsa public key from certificate").
    #[test]
    fn a_certificate_key_has_in_toto_golangs_key_id() {
        let leaf = LeafCert::from_pem(&golang("example.com.write-code.cert.pem")).unwrap();
        let key = leaf.public_key().unwrap();
        assert!(
            key.matches_keyid("4979dea7a8467cbe0299693703b81d490854143b859a469ec0f6349e7bdf582a")
        );
        assert_eq!(leaf.common_name, "write-code.example.com");
        assert_eq!(leaf.organizations, ["example"]);
        assert_eq!(leaf.uris, ["spiffe://example.com/write-code"]);
    }

    /// A layout without CAs lets no certificate through, whatever the
    /// constraints (what the `x509` fuzz target asserts on any input).
    #[test]
    fn no_certificate_chains_without_cas() {
        let trust = CertTrust::new(&BTreeMap::new(), &BTreeMap::new()).unwrap();
        let any = any();
        for pem in [
            golang("example.com.write-code.cert.pem"),
            golang("root.cert.pem"),
        ] {
            let cert = LeafCert::from_pem(&pem).unwrap();
            assert!(trust.check("s", &any, &cert, NOW).is_err());
        }
    }

    /// Text of line breaks only, or nothing, is no certificate (and no
    /// panic).
    #[test]
    fn an_empty_certificate_is_refused() {
        for text in ["", "\n", "\r\n\n", " "] {
            assert!(LeafCert::from_pem(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_constraint_with_an_unknown_field_is_refused() {
        let raw = serde_json::json!({"common_name": "*", "roles": ["admin"]});
        let Value::Object(raw) = raw else {
            unreachable!()
        };
        let err = CertConstraint::from_map(raw, "step s: cert_constraints[0]").unwrap_err();
        assert!(err.to_string().contains("\"roles\""), "{err}");
    }
}
