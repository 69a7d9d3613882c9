package payload

import (
	"strings"
	"testing"
)

const dig = "sha256:817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e"

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		p    Payload
		want string
	}{
		{
			Payload{Reference: "stagex/core-busybox", Digest: dig, Creator: "me 1", Timestamp: 1700000000, HasTimestamp: true},
			`{"critical":{"identity":{"docker-reference":"stagex/core-busybox"},"image":{"docker-manifest-digest":"` + dig + `"},"type":"atomic container signature"},"optional":{"creator":"me 1","timestamp":1700000000}}`,
		},
		{
			Payload{Reference: "stagex/core-busybox", Digest: dig},
			`{"critical":{"identity":{"docker-reference":"stagex/core-busybox"},"image":{"docker-manifest-digest":"` + dig + `"},"type":"atomic container signature"},"optional":{}}`,
		},
		{
			Payload{Reference: "a/b<&>", Digest: dig, Timestamp: 0, HasTimestamp: true},
			`{"critical":{"identity":{"docker-reference":"a/b<&>"},"image":{"docker-manifest-digest":"` + dig + `"},"type":"atomic container signature"},"optional":{"timestamp":0}}`,
		},
	}
	for _, tc := range tests {
		got, err := tc.p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("Marshal\n got %s\nwant %s", got, tc.want)
		}
		back, err := Parse(got)
		if err != nil {
			t.Fatalf("Parse(%s): %v", got, err)
		}
		if back != tc.p {
			t.Errorf("round trip: %+v, want %+v", back, tc.p)
		}
	}
	if _, err := (Payload{Digest: dig}).Marshal(); err == nil {
		t.Error("marshalled a payload without a reference")
	}
}

func doc(critical, optional string) string {
	return `{"critical":` + critical + `,"optional":` + optional + `}`
}

const goodCrit = `{"type":"atomic container signature","image":{"docker-manifest-digest":"` + dig + `"},"identity":{"docker-reference":"x/y"}}`

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		want     Payload
	}{
		{"members in any order, whitespace", " {\n \"optional\": {},\n \"critical\": " + goodCrit + "}\n", Payload{Reference: "x/y", Digest: dig}},
		{"unknown optional member", doc(goodCrit, `{"future":[1,{"a":2}],"creator":"c"}`), Payload{Reference: "x/y", Digest: dig, Creator: "c"}},
		{"integral float timestamp", doc(goodCrit, `{"timestamp":1.7e9}`), Payload{Reference: "x/y", Digest: dig, Timestamp: 1700000000, HasTimestamp: true}},
	}
	for _, tc := range tests {
		got, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	crit := func(typ, image, identity string) string {
		return `{"type":` + typ + `,"image":` + image + `,"identity":` + identity + `}`
	}
	img := `{"docker-manifest-digest":"` + dig + `"}`
	id := `{"docker-reference":"x/y"}`
	typ := `"atomic container signature"`
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `garbage`, "document"},
		{"array", `[]`, "not a JSON object"},
		{"trailing data", doc(goodCrit, `{}`) + `{}`, "unexpected data"},
		{"missing optional", `{"critical":` + goodCrit + `}`, `"optional" is missing`},
		{"extra top-level member", `{"critical":` + goodCrit + `,"optional":{},"x":1}`, `unexpected member "x"`},
		{"duplicate critical", `{"critical":` + goodCrit + `,"critical":` + goodCrit + `,"optional":{}}`, `"critical" appears twice`},
		{"wrong type", doc(crit(`"other"`, img, id), `{}`), "critical.type"},
		{"type not a string", doc(crit(`1`, img, id), `{}`), "not a JSON string"},
		{"missing type", doc(`{"image":`+img+`,"identity":`+id+`}`, `{}`), `"type" is missing`},
		{"extra critical member", doc(`{"type":`+typ+`,"image":`+img+`,"identity":`+id+`,"x":1}`, `{}`), `unexpected member "x"`},
		{"extra image member", doc(crit(typ, `{"docker-manifest-digest":"`+dig+`","x":1}`, id), `{}`), "critical.image"},
		{"duplicate digest", doc(crit(typ, `{"docker-manifest-digest":"a","docker-manifest-digest":"`+dig+`"}`, id), `{}`), "appears twice"},
		{"duplicate reference", doc(crit(typ, img, `{"docker-reference":"x/y","docker-reference":"x/z"}`), `{}`), "appears twice"},
		{"reference not a string", doc(crit(typ, img, `{"docker-reference":null}`), `{}`), "not a JSON string"},
		{"identity not an object", doc(crit(typ, img, `"x/y"`), `{}`), "not a JSON object"},
		{"optional not an object", doc(goodCrit, `[]`), "optional is not a JSON object"},
		{"creator not a string", doc(goodCrit, `{"creator":1}`), "optional.creator"},
		{"timestamp not a number", doc(goodCrit, `{"timestamp":"1"}`), "not a JSON number"},
		{"timestamp fractional", doc(goodCrit, `{"timestamp":1.5}`), "not a 64-bit integer"},
		{"timestamp too large", doc(goodCrit, `{"timestamp":1e30}`), "not a 64-bit integer"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
