//! ITE-7 X.509 functionaries: a link signature's `cert` and a layout's CA
//! entry are attacker-shaped text. Never panics; a certificate that reads
//! has a key or a reason not to, and checking it against an empty trust
//! never passes.
#![no_main]

use attest::x509::{CaCertificate, CertConstraint, CertTrust, LeafCert};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cert) = LeafCert::from_pem(text) {
        let _ = cert.public_key();
        let trust = CertTrust::new(&Default::default(), &Default::default()).expect("no CAs");
        let any = CertConstraint::new(
            "*".into(),
            vec!["*".into()],
            vec!["*".into()],
            vec!["*".into()],
            vec!["*".into()],
            vec!["*".into()],
        );
        assert!(trust.check("fuzz", &[any], &cert, 1_830_297_600).is_err());
    }
    let dict = serde_json::json!({
        "keyid": "ab", "keytype": "rsa", "scheme": "rsassa-pss-sha256",
        "keyval": {"public": "", "certificate": text},
    });
    if let Ok(ca) = CaCertificate::from_key_dict("rootcas", "ab", dict) {
        let roots = [("ab".to_owned(), ca)].into_iter().collect();
        let _ = CertTrust::new(&roots, &Default::default());
    }
});
