package configentry

import "testing"

func TestValidateServiceRouter(t *testing.T) {
	runValidateCases(t, ServiceRouter, []validateCase{
		// Rule 18.
		{"no routes", `{"Name":"web"}`, nil},
		{"no name", `{"Routes":[]}`, []string{"Name: Name is required"}},
		{"full route", `{"Name":"web","Routes":[{
			"Match":{"HTTP":{"PathPrefix":"/api","Header":[{"Name":"x-v","Present":true,"Invert":true}],
				"QueryParam":[{"Name":"debug","Exact":"1"}],"Methods":["get","POST"]}},
			"Destination":{"Service":"api","PrefixRewrite":"/","RetryOn":["5xx","reset","unavailable"]}}]}`, nil},
		// Rules 19 and 20.
		{"relative paths", `{"Name":"web","Routes":[{"Match":{"HTTP":{"PathExact":"a"}}},{"Match":{"HTTP":{"PathPrefix":"b"}}}]}`, []string{
			`Routes[0].Match.HTTP: PathExact doesn't start with '/': "a"`,
			`Routes[1].Match.HTTP: PathPrefix doesn't start with '/': "b"`,
		}},
		{"two path matchers", `{"Name":"web","Routes":[{},{"Match":{"HTTP":{"PathPrefix":"/a","PathRegex":"/b.*"}}}]}`,
			[]string{"Routes[1].Match.HTTP: should only contain at most one of PathExact, PathPrefix, or PathRegex"}},
		// Rule 21.
		{"headers", `{"Name":"web","Routes":[{"Match":{"HTTP":{"Header":[
			{"Exact":"1"},{"Name":"a"},{"Name":"b","Prefix":"x","Suffix":"y"},{"Name":"c","Regex":"z"}]}}}]}`, []string{
			"Routes[0].Match.HTTP.Header[0]: missing required Name field",
			"Routes[0].Match.HTTP.Header[1]: should only contain one of Present, Exact, Prefix, Suffix, or Regex",
			"Routes[0].Match.HTTP.Header[2]: should only contain one of Present, Exact, Prefix, Suffix, or Regex",
		}},
		// Rule 22.
		{"query params", `{"Name":"web","Routes":[{"Match":{"HTTP":{"QueryParam":[
			{"Present":true},{"Name":"a","Present":true,"Regex":"x"},{"Name":"b"}]}}}]}`, []string{
			"Routes[0].Match.HTTP.QueryParam[0]: missing required Name field",
			"Routes[0].Match.HTTP.QueryParam[1]: should only contain one of Present, Exact, or Regex",
			"Routes[0].Match.HTTP.QueryParam[2]: should only contain one of Present, Exact, or Regex",
		}},
		// Rule 23: Normalize upper-cases first, so "get" duplicates "GET".
		{"methods", `{"Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["GET","FETCH","get"]}}}]}`, []string{
			`Routes[0].Match.HTTP: Methods contains an invalid method "FETCH"`,
			`Routes[0].Match.HTTP: Methods contains "GET" more than once`,
		}},
		// Rule 24.
		{"prefix rewrite with regex", `{"Name":"web","Routes":[{"Match":{"HTTP":{"PathRegex":"/a.*"}},"Destination":{"PrefixRewrite":"/"}},
			{"Destination":{"PrefixRewrite":"/b"}},{"Match":{"HTTP":{"PathExact":"/c"}},"Destination":{"PrefixRewrite":"/"}}]}`, []string{
			"Routes[0]: cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix",
			"Routes[1]: cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix",
		}},
		// Rule 25.
		{"retry on", `{"Name":"web","Routes":[{"Destination":{"RetryOn":["gateway-error","5XX"],"RequestTimeout":"-1s"}}]}`,
			[]string{`Routes[0].Destination: contains an invalid retry condition: "5XX"`}},
	})
}
