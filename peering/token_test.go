package peering

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTripAndValidation(t *testing.T) {
	ca, _, err := GenerateCA("abc.consul", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good := Token{CA: []string{ca}, ServerAddresses: []string{"127.0.0.1:8503"}, ServerName: "server.dc1.peering.abc.consul",
		PeerID: "id", EstablishmentSecret: "s", Remote: Remote{Datacenter: "dc1"}}
	enc, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	for _, field := range []string{`"CA"`, `"ServerAddresses"`, `"ServerName"`, `"PeerID"`, `"EstablishmentSecret"`, `"Remote"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("token JSON lacks %s: %s", field, raw)
		}
	}
	if tok, err := DecodeToken(enc); err != nil || tok.PeerID != "id" {
		t.Fatalf("decode: %v %+v", err, tok)
	}
	mutate := func(f func(*Token)) string {
		tok := good
		f(&tok)
		s, _ := tok.Encode()
		return s
	}
	cases := map[string]struct{ token, want string }{
		"not base64":       {"%%%", "not base64"},
		"not JSON":         {base64.StdEncoding.EncodeToString([]byte("hello")), "does not hold token JSON"},
		"bad CA":           {mutate(func(t *Token) { t.CA = []string{"nope"} }), "CA[0] is not a PEM"},
		"no addresses":     {mutate(func(t *Token) { t.ServerAddresses = nil }), "at least one server address"},
		"bad port":         {mutate(func(t *Token) { t.ServerAddresses = []string{"1.2.3.4:0"} }), "invalid port"},
		"no server name":   {mutate(func(t *Token) { t.ServerName = "" }), "ServerName is required"},
		"no peer ID":       {mutate(func(t *Token) { t.PeerID = "" }), "PeerID is required"},
		"no secret":        {mutate(func(t *Token) { t.EstablishmentSecret = "" }), "EstablishmentSecret is required"},
		"address no colon": {mutate(func(t *Token) { t.ServerAddresses = []string{"host"} }), "not host:port"},
	}
	for name, tc := range cases {
		if _, err := DecodeToken(tc.token); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// The server certificate verifies against the CA under the server name
// only, and a certificate from another CA does not.
func TestServerCertificateVerifies(t *testing.T) {
	now := time.Now()
	ca, key, err := GenerateCA("abc.consul", now)
	if err != nil {
		t.Fatal(err)
	}
	name := ServerName("dc1", "abc.consul")
	if name != "server.dc1.peering.abc.consul" {
		t.Fatalf("server name %q", name)
	}
	cert, err := ServerCertificate(ca, key, name, now)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := GenerateCA("other.consul", now)
	handshake := func(caPEM, serverName string) error {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		cfg, err := ClientTLS([]string{caPEM}, serverName)
		if err != nil {
			t.Fatal(err)
		}
		d := &net.Dialer{Timeout: 2 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(ca, name); err != nil {
		t.Fatalf("valid handshake failed: %v", err)
	}
	if err := handshake(other, name); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("foreign CA accepted: %v", err)
	}
	if err := handshake(ca, "server.dc9.peering.abc.consul"); err == nil {
		t.Fatal("wrong server name accepted")
	}
}

func TestCAKeyAndCertificate(t *testing.T) {
	key, err := GenerateCAKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := SignCA("a.consul", key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !CAMatchesKey(cert, key) {
		t.Fatal("a certificate signed for a key does not match it")
	}
	other, _, err := GenerateCA("a.consul", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if CAMatchesKey(other, key) || CAMatchesKey("junk", key) {
		t.Fatal("a foreign or broken certificate matches the key")
	}
	if _, err := ServerCertificate(cert, key, ServerName("dc1", "a.consul"), time.Now()); err != nil {
		t.Fatalf("a matching pair cannot sign: %v", err)
	}
	if _, err := ServerCertificate(other, key, ServerName("dc1", "a.consul"), time.Now()); err == nil {
		t.Fatal("a mismatched pair signed a server certificate")
	}
}
