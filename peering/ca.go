package peering

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// The cluster CA. The first leader creates an ECDSA P-256 root and stores
// certificate and key through Raft (system metadata), so every server holds
// the same CA. Each server then signs, locally and in memory, a certificate
// for ServerName(dc, trustDomain) with that key; the dialer verifies it
// against the CA carried by the token. Keeping the key in Raft is the
// simple choice: anyone with a server's data dir can already read the whole
// catalog, and it avoids an extra certificate-signing RPC to the leader.
//
// Lifetimes: the root is valid for 10 years; server certificates for 1
// year and are re-derived at every start, so rotation is a restart away.

const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 365 * 24 * time.Hour
	// clockSkew back-dates certificates so a peer whose clock is a little
	// behind still accepts them.
	clockSkew = time.Hour
)

// ServerName is the TLS name every server of a cluster presents to peers.
func ServerName(dc, trustDomain string) string {
	return "server." + dc + ".peering." + trustDomain
}

// GenerateCA creates a self-signed root for trustDomain and returns its
// certificate and private key as PEM.
func GenerateCA(trustDomain string, now time.Time) (certPEM, keyPEM string, err error) {
	keyPEM, err = GenerateCAKey()
	if err != nil {
		return "", "", err
	}
	certPEM, err = SignCA(trustDomain, keyPEM, now)
	if err != nil {
		return "", "", err
	}
	return certPEM, keyPEM, nil
}

// GenerateCAKey creates a CA private key (ECDSA P-256) as PKCS#8 PEM.
// Key and certificate are separate steps so that a leader can store the
// key first and derive the certificate from whichever key was stored.
func GenerateCAKey() (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), nil
}

// SignCA creates the self-signed root certificate of the CA key keyPEM
// for trustDomain.
func SignCA(trustDomain, keyPEM string, now time.Time) (string, error) {
	key, err := parseCAKey(keyPEM)
	if err != nil {
		return "", err
	}
	serial, err := randomSerial()
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Switchyard peering CA " + trustDomain},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// CAMatchesKey reports whether certPEM is a certificate for the key
// keyPEM, that is whether the pair can sign server certificates.
func CAMatchesKey(certPEM, keyPEM string) bool {
	cert, key, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return false
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	return ok && pub.Equal(&key.PublicKey)
}

// ServerCertificate signs a fresh key for serverName with the CA.
func ServerCertificate(caCertPEM, caKeyPEM, serverName string, now time.Time) (*tls.Certificate, error) {
	caCert, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: serverName},
		DNSNames:     []string{serverName},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, caCert.Raw}, PrivateKey: key}, nil
}

func parseCA(certPEM, keyPEM string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode([]byte(certPEM))
	if cb == nil {
		return nil, nil, fmt.Errorf("peering: the stored CA is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("peering: parsing the CA certificate: %w", err)
	}
	key, err := parseCAKey(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func parseCAKey(keyPEM string) (*ecdsa.PrivateKey, error) {
	kb, _ := pem.Decode([]byte(keyPEM))
	if kb == nil {
		return nil, fmt.Errorf("peering: the stored CA key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("peering: parsing the CA key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("peering: the CA key is %T, want ECDSA", k)
	}
	return key, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
}

// ClientTLS is the dialer's TLS configuration: trust only the peer's CA and
// require its server name. Without a CA (a token from a cluster that does
// not use TLS) it returns nil and the dialer connects in plain text.
func ClientTLS(caPEMs []string, serverName string) (*tls.Config, error) {
	if len(caPEMs) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for i, ca := range caPEMs {
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, fmt.Errorf("peer CA[%d] is not a PEM certificate", i)
		}
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}, nil
}
