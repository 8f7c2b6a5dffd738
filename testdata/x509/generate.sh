#!/bin/sh
# Regenerates the X.509 functionary fixtures (ITE-7) of this folder with
# openssl 3. Leaves are issued by in-toto-golang's own test intermediate
# (../peers/in-toto-golang/example.com.intermediate.{cert,key}.pem), so they
# chain to its root.cert.pem; see README.md for what each file is for.
set -eu
cd "$(dirname "$0")"
G=../peers/in-toto-golang
ICERT=$G/example.com.intermediate.cert.pem
IKEY=$G/example.com.intermediate.key.pem
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# leaf NAME DAYS ISSUER_CERT ISSUER_KEY SUBJECT EXTENSIONS
leaf() {
  openssl genpkey -algorithm ed25519 -out "$1.key.pem"
  openssl req -new -key "$1.key.pem" -subj "$5" -out "$tmp/$1.csr"
  printf '%s\n' "$6" > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$3" -CAkey "$4" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$2" -sha256 -extfile "$tmp/$1.ext" -out "$1.cert.pem"
}

LEAF='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth,serverAuth'

# The certificate of in-toto-golang's TestConstraintCheck (certconstraint_test.go).
leaf step1 3650 "$ICERT" "$IKEY" "/CN=step1.example.com/O=example" "$LEAF
subjectAltName=DNS:example.com,email:example@example.com,URI:spiffe://example.com/step1"
# Same names, one day of validity: expired at the tests' time.
leaf expired 1 "$ICERT" "$IKEY" "/CN=step1.example.com/O=example" "$LEAF
subjectAltName=DNS:example.com,email:example@example.com,URI:spiffe://example.com/step1"
# Another functionary of the same CA.
leaf package 3650 "$ICERT" "$IKEY" "/CN=package.example.com/O=example" "$LEAF
subjectAltName=URI:spiffe://example.com/package"
# write-code's names but another organization.
leaf other-org 3650 "$ICERT" "$IKEY" "/CN=write-code.example.com/O=other" "$LEAF
subjectAltName=URI:spiffe://example.com/write-code"
# Only the code-signing EKU: Go's x509 Verify (server auth by default) refuses it.
leaf codesign 3650 "$ICERT" "$IKEY" "/CN=step1.example.com/O=example" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectAltName=DNS:example.com,email:example@example.com,URI:spiffe://example.com/step1"

# A root the layouts do not name, and a step1 look-alike it issued.
openssl genpkey -algorithm ed25519 -out untrusted-root.key.pem
openssl req -new -x509 -key untrusted-root.key.pem -subj "/O=example/OU=exampleCN=root" -days 3650 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out untrusted-root.cert.pem
leaf untrusted 3650 untrusted-root.cert.pem untrusted-root.key.pem "/CN=step1.example.com/O=example" "$LEAF
subjectAltName=DNS:example.com,email:example@example.com,URI:spiffe://example.com/step1"
rm -f untrusted-root.key.pem

# A root valid for one day (expired at the tests' time) and a ten-year
# certificate it issued.
openssl genpkey -algorithm ed25519 -out short-root.key.pem
openssl req -new -x509 -key short-root.key.pem -subj "/O=example/CN=short root" -days 1 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out short-root.cert.pem
leaf under-short-root 3650 short-root.cert.pem short-root.key.pem "/CN=step1.example.com/O=example" "$LEAF
subjectAltName=URI:spiffe://example.com/step1"
rm -f short-root.key.pem under-short-root.key.pem
