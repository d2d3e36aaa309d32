package agent

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// TestConfigBodyDecodedOnce checks that configWrite's single decode gives
// the exported-services gate the kind peekKind found before, and configApply
// the entry or error a decode of its own would give.
func TestConfigBodyDecodedOnce(t *testing.T) {
	bodies := []string{
		`{"Kind":"service-defaults","Name":"web","Protocol":"http"}`,
		`{"kind":"exported-services","name":"default","services":[]}`,
		`{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"p"}]}]}`,
		`{"Kind":"exported-services","kind":"exported-services","Name":"default"}`,
		// Bodies that do not decode keep peekKind's lenient answer.
		`{"Kind":"exported-services","Name":"default","Bogus":1}`,
		`{"KIND":"exported-services","Name":"default"}`,
		`{"Kind":7}`,
		`{"Kind":"exported-services",`,
		`[]`,
		``,
	}
	for _, body := range bodies {
		r := httptest.NewRequest("PUT", "/v1/config", strings.NewReader(body))
		r2, kind := decodeConfigBody(r, []byte(body))
		if want := peekKind([]byte(body)); kind != want {
			t.Errorf("%s: kind %q, peekKind says %q", body, kind, want)
		}
		a := &Agent{config: &Config{HTTPMaxBodyBytes: 1 << 20}}
		got, gotErr := a.configBodyEntry(r2)
		want, wantErr := configentry.DecodeJSON([]byte(body))
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: error %v, want %v", body, gotErr, wantErr)
		}
		if !configentry.Equal(got, want) {
			t.Errorf("%s: entry %+v, want %+v", body, got, want)
		}
		// A request that did not pass through configWrite decodes its body.
		r3 := httptest.NewRequest("PUT", "/v1/config", strings.NewReader(body)).WithContext(context.Background())
		if got, err := a.configBodyEntry(r3); (err == nil) != (wantErr == nil) || !configentry.Equal(got, want) {
			t.Errorf("%s: undecorated request: %+v %v", body, got, err)
		}
	}
}
