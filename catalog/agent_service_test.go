package catalog

import (
	"strings"
	"testing"
)

func TestWeightsValidate(t *testing.T) {
	cases := []struct {
		w    Weights
		want string
	}{
		{Weights{Passing: 1, Warning: 0}, ""},
		{Weights{Passing: 65535, Warning: 65535}, ""},
		{Weights{Passing: 0, Warning: 1}, "Passing must be greater than 0"},
		{Weights{Passing: 1, Warning: -1}, "Warning must be greater or equal than 0"},
		{Weights{Passing: 65536, Warning: 1}, "Weight must be smaller than 65536"},
		{Weights{Passing: 1, Warning: 65536}, "Weight must be smaller than 65536"},
	}
	for _, c := range cases {
		err := c.w.Validate()
		if (err == nil) != (c.want == "") || (err != nil && err.Error() != c.want) {
			t.Errorf("%+v: got %v, want %q", c.w, err, c.want)
		}
		// The agent's check and the catalog's fallback must agree.
		if (err == nil) != c.w.valid() {
			t.Errorf("%+v: Validate and valid disagree", c.w)
		}
	}
}

func TestNodeServiceValidateMeta(t *testing.T) {
	ok := &NodeService{Meta: map[string]string{"version": "2", "a_b-c": "x"}}
	if err := ok.ValidateMeta(); err != nil {
		t.Fatalf("valid meta refused: %v", err)
	}
	bad := &NodeService{Meta: map[string]string{"consul-x": "1"}}
	if err := bad.ValidateMeta(); err == nil || !strings.Contains(err.Error(), "Key prefix 'consul-' is reserved for internal use") {
		t.Fatalf("reserved key: got %v", err)
	}
	gw := &NodeService{Kind: ServiceKindMeshGateway, Meta: map[string]string{"consul-wan-federation": "1"}}
	if err := gw.ValidateMeta(); err != nil {
		t.Fatalf("mesh gateway federation key refused: %v", err)
	}
}

func TestIsUnspecifiedAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"0.0.0.0": true, "::": true, "[::]": true,
		"": false, "10.0.0.1": false, "::1": false, "example.com": false,
	} {
		if got := IsUnspecifiedAddress(addr); got != want {
			t.Errorf("%q: got %v, want %v", addr, got, want)
		}
	}
}
