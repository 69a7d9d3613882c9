package trust

import (
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/regfile"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

var tomlLineRE = regexp.MustCompile(`^toml: line (\d+) (.*)$`)

// DefaultThreshold is the number of distinct maintainer keys whose
// signatures an image needs when the policy does not say otherwise.
const DefaultThreshold = 2

// Rule says how many distinct keys out of Keys must have signed an image.
type Rule struct {
	Threshold int
	// Keys are the keys whose signatures count, sorted by name.
	Keys []Key
}

// Counts reports whether a signature by the key with primary fingerprint
// fpr counts under r.
func (r Rule) Counts(fpr string) bool {
	for _, k := range r.Keys {
		if k.Fingerprint == fpr {
			return true
		}
	}
	return false
}

// Policy maps each tier to its Rule.
type Policy struct {
	Default Rule
	Tiers   map[string]Rule
}

// Rule returns the rule for images of tier (the default rule for a tier
// without an override).
func (p *Policy) Rule(tier string) Rule {
	if r, ok := p.Tiers[tier]; ok {
		return r
	}
	return p.Default
}

// DefaultPolicy is the policy used without a policy file: every key in the
// keyring counts and DefaultThreshold distinct keys must sign.
func DefaultPolicy(kr *Keyring) *Policy {
	return &Policy{Default: Rule{Threshold: DefaultThreshold, Keys: kr.Keys}, Tiers: map[string]Rule{}}
}

type ruleTOML struct {
	Threshold *int     `toml:"threshold"`
	Keys      []string `toml:"keys"`
}

type policyTOML struct {
	ruleTOML
	Tier map[string]ruleTOML `toml:"tier"`
}

// MaxPolicyFile is the largest policy file read.
const MaxPolicyFile = 1 << 20

// LoadPolicy reads the policy file at path; see ParsePolicy.
func LoadPolicy(path string, kr *Keyring) (*Policy, error) {
	data, err := regfile.ReadFile(path, MaxPolicyFile)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(path, data, kr)
}

// ParsePolicy parses a TOML policy; name is used in error messages. The
// format:
//
//	# distinct maintainer keys an image needs (default 2)
//	threshold = 2
//	# primary-key fingerprints whose signatures count
//	# (default: every key in the keyring)
//	keys = ["0123...CDEF", "..."]
//
//	# per-tier overrides (bootstrap, core, pallet, user); a field left
//	# out is taken from the top level
//	[tier.bootstrap]
//	threshold = 3
//
// Every listed fingerprint must be in the keyring, and a threshold must be
// between 1 and the number of keys that count.
func ParsePolicy(name string, data []byte, kr *Keyring) (*Policy, error) {
	var pt policyTOML
	md, err := toml.Decode(string(data), &pt)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, diag.Errorf(name, pe.Position.Line, "%s", pe.Message)
		}
		// Type mismatches carry their line only in the message.
		if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, diag.Errorf(name, line, "%s", m[2])
		}
		return nil, diag.Errorf(name, 0, "%v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		section := ""
		if len(k) >= 3 && k[0] == "tier" {
			section = k[1]
		}
		return nil, diag.Errorf(name, lineOf(data, section, k[len(k)-1]), "unknown setting %q (expected threshold, keys or [tier.<name>])", k.String())
	}
	def, err := resolve(name, data, "", pt.ruleTOML, Rule{Threshold: DefaultThreshold, Keys: kr.Keys}, kr)
	if err != nil {
		return nil, err
	}
	p := &Policy{Default: def, Tiers: map[string]Rule{}}
	for tier, rt := range pt.Tier {
		if !stagex.IsTier(tier) {
			return nil, diag.Errorf(name, lineOf(data, "", "tier."+tier), "unknown tier %q (expected one of %s)", tier, strings.Join(stagex.Tiers, ", "))
		}
		r, err := resolve(name, data, tier, rt, def, kr)
		if err != nil {
			return nil, err
		}
		p.Tiers[tier] = r
	}
	return p, nil
}

func resolve(name string, data []byte, tier string, rt ruleTOML, base Rule, kr *Keyring) (Rule, error) {
	r := base
	where := "top level"
	if tier != "" {
		where = "tier " + tier
	}
	if rt.Keys != nil {
		r.Keys = nil
		seen := map[string]bool{}
		for _, s := range rt.Keys {
			line := lineOf(data, tier, s)
			fpr, err := NormalizeFingerprint(s)
			if err != nil {
				return Rule{}, diag.Errorf(name, line, "%v", err)
			}
			if seen[fpr] {
				return Rule{}, diag.Errorf(name, line, "key %s is listed twice", fpr)
			}
			seen[fpr] = true
			k, ok := kr.ByFingerprint(fpr)
			if !ok {
				return Rule{}, diag.Errorf(name, line, "key %s is not in the keyring", fpr)
			}
			r.Keys = append(r.Keys, k)
		}
		sortKeys(r.Keys)
	}
	if rt.Threshold != nil {
		r.Threshold = *rt.Threshold
	}
	if r.Threshold < 1 || r.Threshold > len(r.Keys) {
		return Rule{}, diag.Errorf(name, lineOf(data, tier, "threshold"),
			"%s: threshold %d cannot be met: expected 1 to %d (the number of keys that count)", where, r.Threshold, len(r.Keys))
	}
	return r, nil
}

func sortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
}

// lineOf returns the 1-based line of the first line containing needle,
// looking only inside the [tier.<tier>] table when tier is set, or
// before any table when it is not. It returns 0 when nothing matches.
func lineOf(data []byte, tier, needle string) int {
	inSection := tier == ""
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			h := strings.ReplaceAll(strings.Trim(t, "[] "), `"`, "")
			if tier == "" {
				if needle != "" && strings.Contains(t, needle) {
					return i + 1
				}
				inSection = false
				continue
			}
			inSection = h == "tier."+tier
			continue
		}
		if inSection && strings.Contains(l, needle) {
			return i + 1
		}
	}
	return 0
}
