//! The floor of Sigstore bundle verification on this machine, for
//! `scripts/bench-bundles`: what the public-key operations a public-good
//! bundle needs cost (the leaf certificate's ECDSA P-384 signature by the
//! Fulcio intermediate; ECDSA P-256 signatures of the SCT, the SET, the
//! checkpoint and the artifact), against what `keyless::BundleVerifier`
//! takes per bundle on one core.
//!
//! Usage: verify_floor BUNDLE ARTIFACT IDENTITY ISSUER
//! Prints `floor_us=… toto_us=…` (microseconds per bundle, one core).

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair, UnparsedPublicKey,
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};
use keyless::{Artifact, BundleVerifier, Policy, TrustRoot};

/// Microseconds per verification of a `len`-byte message, best of 5 rounds.
fn verify_us(
    signing: &'static EcdsaSigningAlgorithm,
    verifying: &'static EcdsaVerificationAlgorithm,
    len: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng)?;
    let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref())?;
    let message = vec![0x5a; len];
    let signature = pair.sign(&rng, &message)?;
    let public = UnparsedPublicKey::new(verifying, pair.public_key().as_ref().to_vec());
    let rounds = 200;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..rounds {
            public.verify(&message, signature.as_ref())?;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds));
    }
    Ok(best)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bundle, artifact, identity, issuer] = args.as_slice() else {
        return Err("usage: verify_floor BUNDLE ARTIFACT IDENTITY ISSUER".into());
    };
    // A Fulcio leaf's to-be-signed part is about 1.5 kB; the other messages
    // are small (SCT and SET inputs, a checkpoint note, the artifact digest).
    let p384 = verify_us(
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1,
        1500,
    )?;
    let p256 = verify_us(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P256_SHA256_ASN1,
        300,
    )?;
    let floor = p384 + 4.0 * p256;

    let bundle = std::fs::read(bundle)?;
    let artifact = std::fs::read(artifact)?;
    let verifier = BundleVerifier::new(&TrustRoot::public_good()?)?;
    let policy = Policy::Identity {
        identity: identity.clone(),
        issuer: issuer.clone(),
    };
    let rounds = 200;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..rounds {
            verifier.verify(&bundle, Artifact::Bytes(&artifact), &policy)?;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds));
    }
    println!("p384_us={p384:.1} p256_us={p256:.1} floor_us={floor:.1} toto_us={best:.1}");
    Ok(())
}
