package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/switchyard/switchyard/configentry"
)

func runConfig(args []string, stdout, stderr io.Writer) int {
	return subcommands("config", map[string]command{
		"validate": {"Check config entry files offline", runConfigValidate},
		"convert":  {"Convert a config entry file between JSON, HCL and YAML", runConfigConvert},
		"write":    {"Write a config entry to the cluster", runConfigWrite},
		"read":     {"Read a config entry from the cluster", runConfigRead},
		"list":     {"List config entries of a kind", runConfigList},
		"delete":   {"Delete a config entry", runConfigDelete},
	}, args, stdout, stderr)
}

// runConfigValidate: switchyard config validate FILE...
// Each entry is validated alone, then the set as a whole (every chain the
// entries touch must compile). Prints "valid" or the error; exit 0 or 1.
func runConfigValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config validate", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: switchyard config validate FILE...\n\n"+
			"Validates each config entry (HCL, JSON or Kubernetes YAML), then the set as a\n"+
			"whole: every discovery chain the entries touch must compile. A later file with\n"+
			"the same Kind and Name replaces an earlier one, as a later write would.")
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 1
	}
	if len(files) == 0 {
		fs.Usage()
		return 1
	}
	entries, err := loadEntries(files)
	if err == nil {
		_, err = checkSet(entries)
	}
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	fmt.Fprintln(stdout, "valid")
	return 0
}

// runConfigConvert: switchyard config convert -to json|hcl|yaml FILE
func runConfigConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config convert", stderr)
	to := fs.String("to", "", "output format: json, hcl or yaml (Kubernetes CRD form)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: switchyard config convert -to json|hcl|yaml FILE\n\nOptions:")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 1
	}
	switch {
	case *to != "json" && *to != "hcl" && *to != "yaml":
		fmt.Fprintf(stderr, "Error: -to must be json, hcl or yaml, not %q\n", *to)
		return 1
	case len(files) != 1:
		fmt.Fprintln(stderr, "Error: config convert takes exactly one FILE")
		return 1
	}
	entries, err := configentry.DecodeFile(files[0])
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	out, err := encodeAll(entries, *to)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s: %v\n", files[0], err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}

// encodeAll renders entries in one format: several JSON entries become a
// JSON array, several YAML entries a "---" stream. HCL has no way to hold
// several entries in one file, so that is refused.
func encodeAll(entries []configentry.Entry, format string) (string, error) {
	if len(entries) > 1 && format == "hcl" {
		return "", fmt.Errorf("the file holds %d entries and an HCL file holds only one: convert to json or yaml, or split the file", len(entries))
	}
	parts := make([]string, 0, len(entries))
	for _, e := range entries {
		b, err := configentry.Encode(e, format)
		if err != nil {
			return "", err
		}
		parts = append(parts, strings.TrimRight(string(b), "\n"))
	}
	switch {
	case len(parts) == 1:
		return parts[0] + "\n", nil
	case format == "json":
		return "[\n" + indentLines(strings.Join(parts, ",\n"), "  ") + "\n]\n", nil
	default:
		return strings.Join(parts, "\n---\n") + "\n", nil
	}
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
