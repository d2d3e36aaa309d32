package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/configentry"
)

// runConfigWrite: switchyard config write [-cas -modify-index N] FILE
// The file may be HCL, JSON or Kubernetes YAML; it is checked locally, then
// sent as Consul's JSON form.
func runConfigWrite(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config write", stderr)
	addr := clientFlags(fs)
	cas := fs.Bool("cas", false, "check-and-set: write only if the entry's ModifyIndex equals -modify-index (0: only if absent)")
	modifyIndex := fs.Uint64("modify-index", 0, "ModifyIndex for -cas")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 1
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "Usage: switchyard config write [-cas -modify-index N] FILE")
		return 1
	}
	entries, err := configentry.DecodeFile(files[0])
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	if len(entries) != 1 {
		fmt.Fprintf(stderr, "Error: %s: holds %d entries; config write takes a file with exactly one\n", files[0], len(entries))
		return 1
	}
	e := entries[0]
	body, err := json.Marshal(e)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	q := url.Values{}
	if *cas {
		q.Set("cas", strconv.FormatUint(*modifyIndex, 10))
	}
	out, err := newAPIClient(*addr).do(http.MethodPut, "/v1/config", q, body)
	if err != nil {
		fmt.Fprintf(stderr, "Error writing config entry %s/%s: %v\n", e.GetKind(), e.GetName(), err)
		return 1
	}
	if !strings.Contains(string(out), "true") {
		fmt.Fprintf(stderr, "Error: config entry %s/%s was not written: the check-and-set index %d did not match\n", e.GetKind(), e.GetName(), *modifyIndex)
		return 1
	}
	fmt.Fprintf(stdout, "Config entry written: %s/%s\n", e.GetKind(), e.GetName())
	return 0
}

// runConfigRead: switchyard config read -kind KIND -name NAME
func runConfigRead(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config read", stderr)
	addr := clientFlags(fs)
	kind := fs.String("kind", "", "entry kind (required)")
	name := fs.String("name", "", "entry name (required)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	if *kind == "" || *name == "" {
		fmt.Fprintln(stderr, "Error: -kind and -name are required")
		return 1
	}
	b, err := newAPIClient(*addr).do(http.MethodGet, "/v1/config/"+url.PathEscape(*kind)+"/"+url.PathEscape(*name), nil, nil)
	if err != nil {
		fmt.Fprintln(stderr, "Error reading config entry:", err)
		return 1
	}
	fmt.Fprintln(stdout, indentJSON(b))
	return 0
}

// runConfigList: switchyard config list -kind KIND  (prints one name a line)
func runConfigList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config list", stderr)
	addr := clientFlags(fs)
	kind := fs.String("kind", "", "entry kind (required)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	if *kind == "" {
		fmt.Fprintln(stderr, "Error: -kind is required")
		return 1
	}
	var entries []struct{ Name string }
	if err := newAPIClient(*addr).getJSON("/v1/config/"+url.PathEscape(*kind), nil, &entries); err != nil {
		fmt.Fprintln(stderr, "Error listing config entries:", err)
		return 1
	}
	for _, e := range entries {
		fmt.Fprintln(stdout, e.Name)
	}
	return 0
}

// runConfigDelete: switchyard config delete -kind KIND -name NAME [-cas -modify-index N]
func runConfigDelete(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config delete", stderr)
	addr := clientFlags(fs)
	kind := fs.String("kind", "", "entry kind (required)")
	name := fs.String("name", "", "entry name (required)")
	cas := fs.Bool("cas", false, "check-and-set: delete only if the entry's ModifyIndex equals -modify-index")
	modifyIndex := fs.Uint64("modify-index", 0, "ModifyIndex for -cas")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	if *kind == "" || *name == "" {
		fmt.Fprintln(stderr, "Error: -kind and -name are required")
		return 1
	}
	q := url.Values{}
	if *cas {
		q.Set("cas", strconv.FormatUint(*modifyIndex, 10))
	}
	out, err := newAPIClient(*addr).do(http.MethodDelete, "/v1/config/"+url.PathEscape(*kind)+"/"+url.PathEscape(*name), q, nil)
	if err != nil {
		fmt.Fprintln(stderr, "Error deleting config entry:", err)
		return 1
	}
	if *cas && !strings.Contains(string(out), "true") {
		fmt.Fprintf(stderr, "Error: config entry %s/%s was not deleted: the check-and-set index %d did not match\n", *kind, *name, *modifyIndex)
		return 1
	}
	fmt.Fprintf(stdout, "Config entry deleted: %s/%s\n", *kind, *name)
	return 0
}
