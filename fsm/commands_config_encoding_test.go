package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// Every command EncodeConfigUpsert builds in this package's tests is
// decoded again, both ways Apply can decode it, and compared with the entry
// it was built from: the per-write check earlier versions made in
// production, kept as a test-time assertion.
func init() { verifyConfigUpsert = checkConfigUpsert }

func checkConfigUpsert(e configentry.Entry, cmd []byte) error {
	if len(cmd) < headerLen || CommandType(cmd[0]) != CommandConfigUpsert || cmd[1] != configUpsertVersion {
		return fmt.Errorf("bad header % x", cmd[:min(len(cmd), headerLen)])
	}
	payload := cmd[headerLen:]
	twoStep, cas, err := decodeConfigUpsertTwoStep(payload)
	if err != nil {
		return err
	}
	if !configentry.Equal(e, twoStep) {
		return errors.New("decodes to a different entry")
	}
	onePass, onePassCAS, ok := decodeConfigUpsertOnePass(payload)
	if !ok {
		return errors.New("the one-pass decoder refused a command EncodeConfigUpsert wrote")
	}
	if !reflect.DeepEqual(onePass, twoStep) || !reflect.DeepEqual(onePassCAS, cas) {
		return errors.New("one-pass and two-step decoding differ")
	}
	// The framing is byte for byte what the generic encoder makes.
	raw, _ := json.Marshal(e)
	want, err := encodeCommand(CommandConfigUpsert, configUpsertVersion, configUpsertPayload{Entry: raw, CAS: cas})
	if err != nil || !bytes.Equal(cmd, want) {
		return fmt.Errorf("framing differs from encodeCommand:\n got %q\nwant %q (%v)", cmd, want, err)
	}
	return nil
}

// decodeConfigUpsertTwoStep is how every earlier version decoded the
// payload: encoding/json for the envelope, then DecodeJSON for the entry.
func decodeConfigUpsertTwoStep(payload []byte) (configentry.Entry, *uint64, error) {
	var p configUpsertPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, nil, err
	}
	e, err := configentry.DecodeJSON(p.Entry)
	return e, p.CAS, err
}

// FuzzEncodeConfigUpsert is the property that lets EncodeConfigUpsert skip
// decoding what it encodes: every entry the HTTP handler can pass it (what
// DecodeJSON accepts, normalized) encodes into a command that decodes back,
// both ways, to an Equal entry. Validation is not required, so the property
// covers more than the handler can send.
func FuzzEncodeConfigUpsert(f *testing.F) {
	n := 0
	for _, pattern := range []string{"../configentry/testdata/samples/*.json", "../configentry/testdata/encode/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint64(0), false)
			f.Add(data, uint64(7), true)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seed entries found")
	}
	f.Add([]byte(`{"Kind":"service-defaults","Name":"web","Protocol":"HTTP","Meta":{"<&>":"\u2028"}}`), uint64(0), true)
	f.Add([]byte(`{"kind":"exported-services","name":"default","services":[{"name":"web","namespace":"x","consumers":[{"peer_name":"p"}]}]}`), uint64(1<<63), true)
	f.Add([]byte(`{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.333},{"Weight":"66.667","Service":"v2"}]}`), uint64(0), false)
	f.Add([]byte(`{"Kind":"proxy-defaults","Config":{"n":9007199254740993,"f":1.5,"l":[[],{}],"z":null}}`), uint64(0), false)
	f.Fuzz(func(t *testing.T, data []byte, casValue uint64, withCAS bool) {
		e, err := configentry.DecodeJSON(data)
		if err != nil || e.Normalize() != nil {
			return
		}
		var cas *uint64
		if withCAS {
			cas = &casValue
		}
		cmd, err := EncodeConfigUpsert(e, cas) // checkConfigUpsert runs inside
		if err != nil {
			t.Fatalf("EncodeConfigUpsert: %v\ninput: %s", err, data)
		}
		got, gotCAS := decodeConfigUpsert(1, configUpsertVersion, cmd[headerLen:])
		if !configentry.Equal(e, got) || !reflect.DeepEqual(gotCAS, cas) {
			t.Fatalf("Apply decodes a different entry\ninput: %s\ncommand: %s", data, cmd[headerLen:])
		}
	})
}

func TestEncodeConfigUpsertRefusesWrongKindField(t *testing.T) {
	e := &configentry.ServiceConfigEntry{Kind: configentry.ServiceRouter, Name: "web"}
	if _, err := EncodeConfigUpsert(e, nil); err == nil || !strings.Contains(err.Error(), `its Kind field is "service-router"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := EncodeConfigUpsert(nil, nil); err == nil {
		t.Fatal("a nil entry was encoded")
	}
}

// TestDecodeConfigUpsertPayloadShapes covers payloads other than those
// EncodeConfigUpsert writes: whichever way Apply takes, it must decode what
// the two-step decoder decodes, and panic where it fails.
func TestDecodeConfigUpsertPayloadShapes(t *testing.T) {
	const entry = `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`
	deep := strings.Repeat(`{"a":`, 199) + "1" + strings.Repeat("}", 199)
	cases := []struct {
		name    string
		payload string
		onePass bool // whether the one-pass decoder takes it
	}{
		{"plain", `{"Entry":` + entry + `}`, true},
		{"with CAS", `{"Entry":` + entry + `,"CAS":12}`, true},
		{"CAS first, blanks", ` { "CAS" : 0 , "Entry" : ` + entry + ` } `, true},
		{"CAS null", `{"Entry":` + entry + `,"CAS":null}`, true},
		{"lower-case keys", `{"entry":` + entry + `,"cas":3}`, false},
		{"unknown key", `{"Entry":` + entry + `,"Other":1}`, false},
		{"repeated Entry", `{"Entry":{"Kind":"nope"},"Entry":` + entry + `}`, false},
		{"escaped entry key", `{"\u0045ntry":` + entry + `}`, true},
		{"free-form nested to the bound", `{"Entry":{"Kind":"proxy-defaults","Config":` + deep + `}}`, false},
		{"CAS as float", `{"Entry":` + entry + `,"CAS":1e3}`, false},
		{"CAS negative", `{"Entry":` + entry + `,"CAS":-1}`, false},
		{"CAS string", `{"Entry":` + entry + `,"CAS":"1"}`, false},
		{"entry null", `{"Entry":null}`, false},
		{"entry not an entry", `{"Entry":{"Kind":"service-defaults","Bogus":1}}`, false},
		{"not JSON", `{"Entry":`, false},
		{"trailing data", `{"Entry":` + entry + `} x`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(tc.payload)
			if _, _, ok := decodeConfigUpsertOnePass(payload); ok != tc.onePass {
				t.Errorf("one-pass decoder took it: %v, want %v", ok, tc.onePass)
			}
			wantEntry, wantCAS, wantErr := decodeConfigUpsertTwoStep(payload)
			if wantErr != nil {
				msg := mustPanic(t, func() { decodeConfigUpsert(9, configUpsertVersion, payload) })
				if !strings.Contains(msg, "cannot decode") {
					t.Fatalf("panic %q", msg)
				}
				return
			}
			gotEntry, gotCAS := decodeConfigUpsert(9, configUpsertVersion, payload)
			if !reflect.DeepEqual(gotEntry, wantEntry) || !reflect.DeepEqual(gotCAS, wantCAS) {
				t.Fatalf("got %+v cas %v, want %+v cas %v", gotEntry, gotCAS, wantEntry, wantCAS)
			}
		})
	}
}
