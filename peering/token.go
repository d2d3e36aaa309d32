package peering

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"strconv"
)

// Token is what the acceptor hands to the dialer's operator:
// base64(std) of this JSON, with Consul's field names so tokens stay
// inspectable (peering.md §2, §9).
type Token struct {
	CA                    []string `json:"CA"`
	ServerAddresses       []string `json:"ServerAddresses"`
	ManualServerAddresses []string `json:"ManualServerAddresses,omitempty"`
	ServerName            string   `json:"ServerName"`
	PeerID                string   `json:"PeerID"`
	EstablishmentSecret   string   `json:"EstablishmentSecret"`
	Remote                Remote   `json:"Remote"`
}

// Remote describes the cluster that issued a token.
type Remote struct {
	Partition  string
	Datacenter string
}

// Encode renders the token.
func (t *Token) Encode() (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeToken parses and validates a token. Every error says what is wrong
// with which field, so the operator can tell a truncated paste from a token
// of another product.
func DecodeToken(s string) (*Token, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("failed to decode token: PeeringToken is not base64: %v", err)
	}
	var t Token
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("failed to decode token: PeeringToken does not hold token JSON: %v", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Validate applies the dialer's token rules (peering.md §2).
func (t *Token) Validate() error {
	for i, ca := range t.CA {
		if err := parseCertPEM(ca); err != nil {
			return fmt.Errorf("peering token CA[%d] %v", i, err)
		}
	}
	if len(t.ServerAddresses) == 0 && len(t.ManualServerAddresses) == 0 {
		return fmt.Errorf("peering token ServerAddresses: at least one server address is required")
	}
	for _, list := range [][]string{t.ServerAddresses, t.ManualServerAddresses} {
		for _, addr := range list {
			if err := validateAddress(addr); err != nil {
				return fmt.Errorf("peering token ServerAddresses: %v", err)
			}
		}
	}
	if len(t.CA) > 0 && t.ServerName == "" {
		return fmt.Errorf("peering token ServerName is required when CA is set")
	}
	if t.PeerID == "" {
		return fmt.Errorf("peering token PeerID is required")
	}
	if t.EstablishmentSecret == "" {
		return fmt.Errorf("peering token EstablishmentSecret is required")
	}
	return nil
}

// parseCertPEM checks that s holds a PEM block with an X.509 certificate.
// The error reads after the field name ("CA[0] is not ...").
func parseCertPEM(s string) error {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return fmt.Errorf("is not a PEM certificate")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return fmt.Errorf("is not a valid certificate: %v", err)
	}
	return nil
}

func validateAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port (want 1-65535)", addr)
	}
	return nil
}

// DialAddresses is where a dialer tries to reach the acceptor: the manual
// addresses take precedence, as in Consul.
func DialAddresses(manual, advertised []string) []string {
	if len(manual) > 0 {
		return manual
	}
	return advertised
}
