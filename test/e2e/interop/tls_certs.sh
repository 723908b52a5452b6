#!/bin/sh
# Makes the certificates the wss:// tests need, in DIR (never committed):
#   ca.pem                  a test certificate authority
#   server.pem/.key         localhost, 127.0.0.1 and ::1, signed by it
#   otherhost.pem/.key      other.example only (host name mismatch)
#   ip4only.pem/.key        IP 127.0.0.1 only (::1 and localhost mismatch)
#   dnsip.pem/.key          127.0.0.1 and ::1 as DNS names, CN 127.0.0.1: no
#                           iPAddress entry, so an address URL must not match
#   expired.pem/.key        localhost, signed by it, valid in 2020 only
#   rogue-ca.pem, rogue.pem/.key   localhost, signed by a CA nobody trusts
# EC P-256 keys: fast to make. Usage: tls_certs.sh DIR
set -eu
d=$1
mkdir -p "$d"
cd "$d"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

ca() { # name CN
	openssl req -x509 $ec -keyout "$1.key" -out "$1.pem" -subj "/CN=$2" -days 30 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name CA SAN [startdate enddate]
	cn=${3%%,*}
	openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=${cn#*:}" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
	if [ $# -ge 5 ]; then
		# `openssl x509` cannot backdate: `openssl ca` with a throwaway database can.
		: > index.txt
		printf '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\n' > ca.cnf
		printf 'default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' >> ca.cnf
		echo 01 > serial
		openssl ca -batch -config ca.cnf -cert "$2.pem" -keyfile "$2.key" -in "$1.csr" -out "$1.pem" \
			-startdate "$4" -enddate "$5" -extfile "$1.ext" -notext 2>/dev/null
	else
		openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
			-days 30 -extfile "$1.ext" 2>/dev/null
	fi
}

ca ca "libws test CA"
ca rogue-ca "rogue test CA"
leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1"
leaf otherhost ca "DNS:other.example"
leaf ip4only ca "IP:127.0.0.1"
leaf dnsip ca "DNS:127.0.0.1,DNS:::1"
leaf expired ca "DNS:localhost" 20200101000000Z 20200102000000Z
leaf rogue rogue-ca "DNS:localhost"
