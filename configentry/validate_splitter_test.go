package configentry

import "testing"

func TestValidateServiceSplitter(t *testing.T) {
	runValidateCases(t, ServiceSplitter, []validateCase{
		// Rule 26.
		{"no name, no splits", `{}`, []string{"Name: Name is required", "Splits: no splits configured"}},
		// Rule 27.
		{"same service spelled twice", `{"Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"web"}]}`,
			[]string{`Splits[1]: split destination occurs more than once: service="web", subset="", namespace="", partition=""`}},
		{"default namespace is the same destination", `{"Name":"web","Splits":[{"Weight":50,"Service":"a"},{"Weight":50,"Service":"a","Namespace":"default"}]}`,
			[]string{`Splits[1]: split destination occurs more than once: service="a", subset="", namespace="", partition=""`}},
		{"header modifiers make splits distinct", `{"Name":"web","Splits":[{"Weight":50,"RequestHeaders":{"Set":{"x":"1"}}},{"Weight":50}]}`, nil},
		{"different subsets", `{"Name":"web","Splits":[{"Weight":50,"ServiceSubset":"v1"},{"Weight":50,"ServiceSubset":"v2"}]}`, nil},
		// Rule 28, on weights Normalize has rounded to 0.01.
		{"thirds", `{"Name":"web","Splits":[{"Weight":33.333,"Service":"a"},{"Weight":33.333,"Service":"b"},{"Weight":33.335,"Service":"c"}]}`, nil},
		{"rounding reaches 100", `{"Name":"web","Splits":[{"Weight":99.995,"Service":"a"},{"Weight":0.001,"Service":"b"}]}`, nil},
		{"sum short", `{"Name":"web","Splits":[{"Weight":90,"Service":"a"},{"Weight":9.99,"Service":"b"}]}`,
			[]string{"Splits: the sum of all split weights must be 100, not 99.989998"}},
		{"sum over", `{"Name":"web","Splits":[{"Weight":100},{"Weight":1,"Service":"b"}]}`,
			[]string{"Splits: the sum of all split weights must be 100, not 101.000000"}},
	})
}
