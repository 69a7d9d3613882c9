// Package payload builds and strictly parses the JSON document carried by a
// container "simple signing" signature (containers-signature(5)):
//
//	{"critical":{"identity":{"docker-reference":REF},
//	             "image":{"docker-manifest-digest":DIGEST},
//	             "type":"atomic container signature"},
//	 "optional":{"creator":..., "timestamp":...}}
//
// Parsing follows the format's rules: the top level has exactly "critical"
// and "optional"; the critical part and its sub-objects must hold exactly
// the known members with the right types; duplicated members are refused
// anywhere in those objects; unknown members of "optional" are accepted.
package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Type is the only critical.type value defined by the format.
const Type = "atomic container signature"

// Payload is the signed claim: the image with manifest digest Digest is
// approved under the identity Reference.
type Payload struct {
	Reference string // critical.identity.docker-reference
	Digest    string // critical.image.docker-manifest-digest
	Creator   string // optional.creator; omitted when empty
	// Timestamp is optional.timestamp in seconds since the epoch; omitted
	// when HasTimestamp is false.
	Timestamp    int64
	HasTimestamp bool
}

type identityJSON struct {
	DockerReference string `json:"docker-reference"`
}

type imageJSON struct {
	DockerManifestDigest string `json:"docker-manifest-digest"`
}

type criticalJSON struct {
	Identity identityJSON `json:"identity"`
	Image    imageJSON    `json:"image"`
	Type     string       `json:"type"`
}

type optionalJSON struct {
	Creator   string `json:"creator,omitempty"`
	Timestamp *int64 `json:"timestamp,omitempty"`
}

type documentJSON struct {
	Critical criticalJSON `json:"critical"`
	Optional optionalJSON `json:"optional"`
}

// Marshal returns the JSON document for p, in a fixed member order.
func (p Payload) Marshal() ([]byte, error) {
	if p.Reference == "" || p.Digest == "" {
		return nil, errors.New("payload needs a docker reference and a manifest digest")
	}
	doc := documentJSON{
		Critical: criticalJSON{
			Identity: identityJSON{DockerReference: p.Reference},
			Image:    imageJSON{DockerManifestDigest: p.Digest},
			Type:     Type,
		},
		Optional: optionalJSON{Creator: p.Creator},
	}
	if p.HasTimestamp {
		ts := p.Timestamp
		doc.Optional.Timestamp = &ts
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Parse strictly parses a payload document. Call it only on data whose
// signature has already been verified.
func Parse(data []byte) (Payload, error) {
	top, err := object(data, "document")
	if err != nil {
		return Payload{}, err
	}
	if err := exactMembers(top, "document", "critical", "optional"); err != nil {
		return Payload{}, err
	}
	crit, err := object(top["critical"], "critical")
	if err != nil {
		return Payload{}, err
	}
	if err := exactMembers(crit, "critical", "identity", "image", "type"); err != nil {
		return Payload{}, err
	}
	typ, err := str(crit["type"], "critical.type")
	if err != nil {
		return Payload{}, err
	}
	if typ != Type {
		return Payload{}, fmt.Errorf("critical.type is %q, expected %q", typ, Type)
	}
	ident, err := object(crit["identity"], "critical.identity")
	if err != nil {
		return Payload{}, err
	}
	if err := exactMembers(ident, "critical.identity", "docker-reference"); err != nil {
		return Payload{}, err
	}
	img, err := object(crit["image"], "critical.image")
	if err != nil {
		return Payload{}, err
	}
	if err := exactMembers(img, "critical.image", "docker-manifest-digest"); err != nil {
		return Payload{}, err
	}
	var p Payload
	if p.Reference, err = str(ident["docker-reference"], "critical.identity.docker-reference"); err != nil {
		return Payload{}, err
	}
	if p.Digest, err = str(img["docker-manifest-digest"], "critical.image.docker-manifest-digest"); err != nil {
		return Payload{}, err
	}
	opt, err := object(top["optional"], "optional")
	if err != nil {
		return Payload{}, err
	}
	if raw, ok := opt["creator"]; ok {
		if p.Creator, err = str(raw, "optional.creator"); err != nil {
			return Payload{}, err
		}
	}
	if raw, ok := opt["timestamp"]; ok {
		if p.Timestamp, err = integer(raw, "optional.timestamp"); err != nil {
			return Payload{}, err
		}
		p.HasTimestamp = true
	}
	return p, nil
}

// object decodes a JSON object into its members, refusing duplicated
// member names and trailing data.
func object(data []byte, what string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s is not a JSON object", what)
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s: member name expected", what)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s.%s: %v", what, name, err)
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%s: member %q appears twice", what, name)
		}
		members[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: unexpected data after the object", what)
	}
	return members, nil
}

func exactMembers(m map[string]json.RawMessage, what string, names ...string) error {
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return fmt.Errorf("%s: member %q is missing", what, n)
		}
	}
	if len(m) != len(names) {
		var extra []string
		for k := range m {
			known := false
			for _, n := range names {
				known = known || k == n
			}
			if !known {
				extra = append(extra, fmt.Sprintf("%q", k))
			}
		}
		return fmt.Errorf("%s: unexpected member %s", what, strings.Join(extra, ", "))
	}
	return nil
}

func str(raw json.RawMessage, what string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("%s is not a JSON string", what)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %v", what, err)
	}
	return s, nil
}

func integer(raw json.RawMessage, what string) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, fmt.Errorf("%s: %v", what, err)
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a JSON number", what)
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, fmt.Errorf("%s is not a 64-bit integer: %s", what, n)
		}
		i = int64(f)
	}
	return i, nil
}
