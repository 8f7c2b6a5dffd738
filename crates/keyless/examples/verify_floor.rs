//! The floor of Sigstore bundle verification on this machine, for
//! `scripts/bench-bundles`: what the public-key operations a public-good
//! bundle needs cost (the leaf certificate's ECDSA P-384 signature by the
//! Fulcio intermediate; ECDSA P-256 signatures of the SCT, the SET, the
//! checkpoint and the artifact), against what `keyless::BundleVerifier`
//! takes per bundle on one core.
//!
//! Both are also run on every core at once, since that is how `toto
//! verify-bundle` verifies a batch (and a virtual machine's cores need not
//! scale perfectly).
//!
//! Usage: verify_floor BUNDLE ARTIFACT IDENTITY ISSUER
//! Prints `floor_us=… toto_us=… floor_all_us=… toto_all_us=…` (microseconds
//! per bundle: on one core, then wall time per bundle on all cores).

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair, UnparsedPublicKey,
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};
use keyless::{Artifact, BundleVerifier, Policy, TrustRoot};

type Check = Box<dyn Fn() -> Result<(), String> + Sync>;

/// Wall-clock microseconds per call of `check` when `threads` threads call
/// it `rounds` times each at once (per call of one thread's share for 1),
/// best of 5.
fn per_call_us(check: &Check, threads: u32, rounds: u32) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| scope.spawn(|| (0..rounds).try_for_each(|_| check())))
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().map_err(|_| "worker panicked".to_owned())?)
        })?;
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds * threads));
    }
    Ok(best)
}

/// A check that verifies one ECDSA signature over a `len`-byte message.
fn ecdsa_check(
    signing: &'static EcdsaSigningAlgorithm,
    verifying: &'static EcdsaVerificationAlgorithm,
    len: usize,
) -> Result<Check, Box<dyn std::error::Error>> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng)?;
    let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref())?;
    let message = vec![0x5a; len];
    let signature = pair.sign(&rng, &message)?;
    let public = pair.public_key().as_ref().to_vec();
    Ok(Box::new(move || {
        UnparsedPublicKey::new(verifying, &public)
            .verify(&message, signature.as_ref())
            .map_err(|e| e.to_string())
    }))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bundle, artifact, identity, issuer] = args.as_slice() else {
        return Err("usage: verify_floor BUNDLE ARTIFACT IDENTITY ISSUER".into());
    };
    // A Fulcio leaf's to-be-signed part is about 1.5 kB; the other messages
    // are small (SCT and SET inputs, a checkpoint note, the artifact digest).
    let p384 = ecdsa_check(
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1,
        1500,
    )?;
    let p256 = ecdsa_check(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P256_SHA256_ASN1,
        300,
    )?;
    let floor: Check = Box::new(move || {
        p384()?;
        (0..4).try_for_each(|_| p256())
    });

    let bundle = std::fs::read(bundle)?;
    let artifact = std::fs::read(artifact)?;
    let verifier = BundleVerifier::new(&TrustRoot::public_good()?)?;
    let policy = Policy::Identity {
        identity: identity.clone(),
        issuer: issuer.clone(),
    };
    let toto: Check = Box::new(move || {
        verifier
            .verify(&bundle, Artifact::Bytes(&artifact), &policy)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let rounds = 200;
    println!(
        "floor_us={:.1} toto_us={:.1} floor_all_us={:.1} toto_all_us={:.1}",
        per_call_us(&floor, 1, rounds)?,
        per_call_us(&toto, 1, rounds)?,
        per_call_us(&floor, cores, rounds)?,
        per_call_us(&toto, cores, rounds)?,
    );
    Ok(())
}
