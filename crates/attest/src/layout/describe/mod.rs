//! Authoring a layout from a small declarative description (what `toto
//! layout new` reads from TOML or YAML): steps with their functionaries
//! (key files, OpenPGP keys, keyless identities), threshold, expected
//! command and rules; inspections; an expiry given as a duration or a date.
//!
//! [`Description`] is deserialized with any serde format; [`build`] turns
//! it into a [`Layout`](crate::layout::Layout). Keys are found by the
//! caller ([`KeySource`]): this module reads no file and runs no program,
//! and "now" is a parameter.
//!
//! ```
//! use attest::layout::describe::{self, Description, KeySource};
//!
//! struct NoKeys;
//! impl KeySource for NoKeys {}
//!
//! let text = r#"{"expires": "30d", "steps": [{"name": "build",
//!     "identities": [{"identity": "ci@example.org", "issuer": "https://issuer.example"}],
//!     "products": ["CREATE dist/*", "DISALLOW *"]}]}"#;
//! let description: Description = serde_json::from_str(text).unwrap();
//! let layout = describe::build(description, 1_767_225_600, &NoKeys)?;
//! assert_eq!(layout.expires.as_deref(), Some("2026-01-31T00:00:00Z"));
//! assert_eq!(layout.steps[0].name.as_str(), "build");
//! # Ok::<(), describe::DescriptionError>(())
//! ```
//!
//! One file per job: `model` (the description and the [`KeySource`]),
//! `build` (the description made into a layout), `check` (rules that can
//! never match, warnings), `error` (errors and warnings).

mod build;
mod check;
mod error;
mod model;

pub use build::build;
pub use check::warnings;
pub use error::{DescriptionError, ItemKind, RuleProblem, Warning};
pub use model::{Description, KeySource, SourceError};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::layout::{Layout, StepName};

    struct NoKeys;
    impl KeySource for NoKeys {}

    fn build_json(text: &str) -> Result<Layout, DescriptionError> {
        build(serde_json::from_str(text).unwrap(), 0, &NoKeys)
    }

    const ALICE: &str = r#"{"identity": "alice@example.org", "issuer": "https://issuer.example"}"#;

    #[test]
    fn a_duration_expires_from_now_and_a_date_is_kept() {
        let layout = build_json(r#"{"expires": "2w"}"#).unwrap();
        assert_eq!(layout.expires.as_deref(), Some("1970-01-15T00:00:00Z"));
        let layout = build_json(r#"{"expires": "2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(layout.expires.as_deref(), Some("2030-01-01T00:00:00Z"));
        let error = build_json(r#"{"expires": "soon"}"#).unwrap_err();
        assert!(matches!(error, DescriptionError::Expires { .. }), "{error}");
    }

    #[test]
    fn a_threshold_above_the_functionaries_is_refused() {
        let text = format!(
            r#"{{"steps": [{{"name": "build", "threshold": 2, "identities": [{ALICE}]}}]}}"#
        );
        let error = build_json(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step build: threshold 2 needs at least that many functionaries (has 1)"
        );
    }

    #[test]
    fn one_identity_listed_twice_is_refused_as_one_signer() {
        let text =
            format!(r#"{{"steps": [{{"name": "build", "identities": [{ALICE}, {ALICE}]}}]}}"#);
        let error = build_json(&text).unwrap_err();
        assert!(
            matches!(error, DescriptionError::DuplicateSigner { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_bad_rule_names_the_step_and_its_rules() {
        let text = format!(
            r#"{{"steps": [{{"name": "build", "identities": [{ALICE}], "products": ["CREATE"]}}]}}"#
        );
        let error = build_json(&text).unwrap_err().to_string();
        assert!(error.starts_with("step build: products: "), "{error}");
    }

    fn chain(build_products: &str, package_materials: &str) -> String {
        format!(
            r#"{{"steps": [
                {{"name": "build", "identities": [{ALICE}], "products": {build_products}}},
                {{"name": "package", "identities": [{ALICE}], "materials": {package_materials}}}],
              "inspections": [{{"name": "untar", "run": ["tar"],
                "materials": ["MATCH app.tar WITH PRODUCTS FROM package", "DISALLOW *"]}}]}}"#
        )
    }

    #[test]
    fn match_from_an_unknown_step_names_it_and_the_known_steps() {
        let text = chain(
            "[]",
            r#"["MATCH app WITH PRODUCTS FROM biuld", "DISALLOW *"]"#,
        );
        let error = build_json(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step package: materials: rule \"MATCH app WITH PRODUCTS FROM biuld\": FROM \"biuld\" \
             names no step or inspection of this layout (known: build, package, untar)"
        );
    }

    #[test]
    fn an_inspection_matching_from_an_unknown_step_is_named_as_an_inspection() {
        let text = chain("[]", "[]").replace("FROM package", "FROM pakage");
        let error = build_json(&text).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "inspection untar: materials: rule \"MATCH app.tar WITH PRODUCTS FROM pakage\": \
                 FROM \"pakage\" names no step or inspection"
            ),
            "{error}"
        );
    }

    #[test]
    fn match_from_the_step_itself_is_refused() {
        let text = chain("[]", r#"["MATCH app WITH PRODUCTS FROM package"]"#);
        let error = build_json(&text).unwrap_err();
        assert!(
            matches!(
                &error,
                DescriptionError::Pointless {
                    problem: RuleProblem::FromItself {
                        kind: ItemKind::Step
                    },
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("step package: materials: rule \"MATCH app WITH PRODUCTS FROM package\": FROM names this step itself"),
            "{error}"
        );
    }

    #[test]
    fn a_rule_after_allow_star_is_refused() {
        let text = chain(r#"["ALLOW *", "DISALLOW app"]"#, "[]");
        let error = build_json(&text).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "step build: products: rule \"DISALLOW app\": comes after \"ALLOW *\""
            ),
            "{error}"
        );
    }

    #[test]
    fn typos_in_rules_name_the_item_and_the_rule() {
        for (rule, problem) in [
            (
                "MATHC app WITH PRODUCTS FROM build",
                "unknown rule type \"MATHC\"",
            ),
            ("ALLOW", "ALLOW takes exactly one pattern"),
            ("MATCH app WITH PRODCTS FROM build", "not \"PRODCTS\""),
        ] {
            let text = chain("[]", &format!(r#"["{rule}"]"#));
            let error = build_json(&text).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("step package: materials: rule \"{rule}\": ")),
                "{error}"
            );
            assert!(error.contains(problem), "{error}");
        }
    }

    #[test]
    fn unconsumed_products_and_unguarded_matches_are_warned_about() {
        let text = chain("[]", r#"["MATCH app WITH PRODUCTS FROM build", "ALLOW *"]"#);
        let layout = build_json(&text).unwrap();
        let said: Vec<String> = warnings(&layout).iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with(
                "step package: materials: rule \"MATCH app WITH PRODUCTS FROM build\" can never fail"
            ),
            "{said:?}"
        );
        let text = chain("[]", r#"["DISALLOW *"]"#);
        let layout = build_json(&text).unwrap();
        assert_eq!(
            warnings(&layout),
            [Warning::UnconsumedProducts {
                step: StepName::parse("build").unwrap()
            }]
        );
    }

    #[test]
    fn an_inspection_without_a_command_is_refused() {
        let error = build_json(r#"{"inspections": [{"name": "untar", "run": []}]}"#).unwrap_err();
        assert_eq!(error.to_string(), "inspection untar: run is empty");
    }

    #[test]
    fn a_key_file_the_source_cannot_give_names_the_step_and_the_file() {
        let error = build_json(r#"{"steps": [{"name": "build", "functionaries": ["bob.pub"]}]}"#)
            .unwrap_err();
        assert_eq!(error.to_string(), "step build: functionary bob.pub");
    }

    /// Certificates read from in-toto-golang's test data.
    struct GolangCerts;
    impl KeySource for GolangCerts {
        fn certificate(&self, path: &Path) -> Result<String, SourceError> {
            let dir =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/peers/in-toto-golang");
            Ok(std::fs::read_to_string(dir.join(path))?)
        }
    }

    fn build_certs(step: &str) -> Result<Layout, DescriptionError> {
        let text = format!(
            r#"{{"rootcas": ["root.cert.pem"], "intermediatecas": ["example.com.intermediate.cert.pem"],
                "steps": [{step}]}}"#
        );
        build(serde_json::from_str(&text).unwrap(), 0, &GolangCerts)
    }

    /// The description's CA files become the layout's `rootcas` and
    /// `intermediatecas` under in-toto-golang's ids (its `demo.layout`
    /// lists its root as `da6360ef…`, its intermediate as `a6c9536b…`), a
    /// root file in `roots` becomes its id, and every field is written.
    #[test]
    fn x509_functionaries_are_authored_with_in_toto_golangs_ids() {
        let layout = build_certs(
            r#"{"name": "write-code", "cert_constraints": [{"common_name": "write-code.example.com",
                "organizations": ["example"], "roots": ["root.cert.pem"],
                "uris": ["spiffe://example.com/write-code"]}]}"#,
        )
        .unwrap();
        let root = "da6360ef818d52b11f891132609f34907bd48521b33fc96927979b7fce876136";
        assert_eq!(layout.rootcas.keys().collect::<Vec<_>>(), [root]);
        assert_eq!(
            layout.intermediatecas.keys().collect::<Vec<_>>(),
            ["a6c9536bc35adcd7fefde347b89a6c6d03da63d2955733eb15774b29c7fdb25f"]
        );
        let written = layout.to_value();
        assert_eq!(
            written["steps"][0]["cert_constraints"],
            serde_json::json!([{"common_name": "write-code.example.com", "dns_names": [],
                "emails": [], "organizations": ["example"], "roots": [root],
                "uris": ["spiffe://example.com/write-code"]}])
        );
        // Read back as signed.
        let read = Layout::from_value(written.clone()).unwrap();
        assert_eq!(read.to_value(), written);
    }

    #[test]
    fn a_certificate_constraint_that_can_never_be_met_is_refused() {
        for (constraint, says) in [
            (
                r#"{"common_name": "*"}"#,
                "roots must list every rootcas file",
            ),
            (
                r#"{"roots": ["other.pem"]}"#,
                "is not \"*\" nor one of the rootcas files",
            ),
        ] {
            let error = build_certs(&format!(
                r#"{{"name": "s", "cert_constraints": [{constraint}]}}"#
            ))
            .unwrap_err();
            let shown = error.to_string();
            assert!(
                shown.starts_with("step s: cert_constraints[0]: ") && shown.contains(says),
                "{shown}"
            );
        }
        let error =
            build_json(r#"{"steps": [{"name": "s", "cert_constraints": [{"roots": ["*"]}]}]}"#)
                .unwrap_err();
        assert!(error.to_string().contains("no rootcas"), "{error}");
        let unknown = serde_json::from_str::<Description>(
            r#"{"steps": [{"name": "s", "cert_constraints": [{"roles": ["*"]}]}]}"#,
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `roles`"));
    }
}
