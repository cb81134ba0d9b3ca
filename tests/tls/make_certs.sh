#!/bin/sh
# tests/tls/make_certs.sh DIR - the certificates of the TLS tests, made with
# the openssl CLI into DIR (created if missing). Everything is EC P-256, so
# this takes well under a second.
#
#   ca.pem ca.key              the test CA (trusted only when a test says so)
#   server.pem server.key      localhost: DNS:localhost, IP:127.0.0.1, by the CA
#   server-enc.key             server.key encrypted with the password "secret"
#   sni.pem sni.key            sni.example, by the CA (chosen by SNI)
#   other.pem other.key        other.example: the wrong host for localhost
#   expired.pem expired.key    localhost, valid 2020-01-01 to 2020-01-02 (openssl ca
#                              -startdate/-enddate: x509 has no -not_after in 3.0)
#   future.pem future.key      localhost, valid from 2090
#   self.pem self.key          localhost, self-signed
#   client.pem client.key      "vow test client", clientAuth, by the CA
#   chain.pem                  server.pem followed by ca.pem
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 3650 -subj "/O=vow tests/CN=vow test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# sign NAME SUBJECT SAN [EXTENDED_KEY_USAGE]
sign() {
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$2"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' "$3" "${4:-serverAuth}" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
sign server "/O=vow tests/CN=localhost" "DNS:localhost,IP:127.0.0.1"
sign sni "/O=vow tests/CN=sni.example" "DNS:sni.example"
sign other "/O=vow tests/CN=other.example" "DNS:other.example"
sign client "/O=vow tests/CN=vow test client" "DNS:client.example" clientAuth
openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key
cat server.pem ca.pem > chain.pem

# Dated certificates: openssl ca takes explicit start and end dates.
mkdir -p ca.d
: > ca.d/index.txt
echo 1000 > ca.d/serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ca.d
database = ca.d/index.txt
serial = ca.d/serial
new_certs_dir = ca.d
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[ any ]
commonName = supplied
organizationName = optional
[ leaf ]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
dated() {
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/O=vow tests/CN=localhost"
    openssl ca -batch -config ca.cnf -notext -startdate "$2" -enddate "$3" -in "$1.csr" -out "$1.pem" 2>/dev/null
}
dated expired 20200101000000Z 20200102000000Z
dated future 20900101000000Z 20910101000000Z

key self.key
openssl req -x509 -new -key self.key -out self.pem -days 3650 -subj "/O=vow tests/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
