package containerfile

import (
	"fmt"
	"sort"
	"strings"
)

type flagType int

const (
	stringFlag  flagType = iota // --name=value, once
	boolFlag                    // --name, --name=true, --name=false, once
	stringsFlag                 // --name=value, repeatable
)

// flagSpecs are the flags each instruction accepts, as in BuildKit.
var flagSpecs = map[string]map[string]flagType{
	"FROM": {"platform": stringFlag},
	"COPY": {"from": stringFlag, "chown": stringFlag, "chmod": stringFlag, "link": boolFlag,
		"exclude": stringsFlag, "parents": boolFlag},
	"ADD": {"chown": stringFlag, "chmod": stringFlag, "link": boolFlag, "keep-git-dir": boolFlag,
		"checksum": stringFlag, "unpack": boolFlag, "exclude": stringsFlag},
	"RUN": {"mount": stringsFlag, "network": stringFlag, "security": stringFlag, "device": stringsFlag},
	"HEALTHCHECK": {"interval": stringFlag, "timeout": stringFlag, "start-period": stringFlag,
		"start-interval": stringFlag, "retries": stringFlag},
}

// flagValues are parsed flags: the last value of single flags, all values
// of repeatable ones.
type flagValues map[string][]string

func (f flagValues) get(name string) string {
	if v := f[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (f flagValues) has(name string) bool { _, ok := f[name]; return ok }

// parseFlags checks the flags BuildKit's parser split off an instruction.
func parseFlags(kind string, raw []string) (flagValues, error) {
	specs := flagSpecs[kind]
	out := flagValues{}
	for _, a := range raw {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("%s: flag %q should start with --", kind, a)
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		typ, ok := specs[name]
		if !ok {
			return nil, fmt.Errorf("%s: unknown flag --%s%s", kind, name, knownFlags(specs))
		}
		if _, dup := out[name]; dup && typ != stringsFlag {
			return nil, fmt.Errorf("%s: flag --%s given twice", kind, name)
		}
		switch typ {
		case boolFlag:
			if hasValue && value == "" {
				return nil, fmt.Errorf("%s: missing a value on flag --%s", kind, name)
			}
			switch strings.ToLower(value) {
			case "", "true":
				value = "true"
			case "false":
				value = "false"
			default:
				return nil, fmt.Errorf("%s: flag --%s wants true or false, not %q", kind, name, value)
			}
		default:
			if !hasValue {
				return nil, fmt.Errorf("%s: missing a value on flag --%s (want --%s=<value>)", kind, name, name)
			}
		}
		out[name] = append(out[name], value)
	}
	return out, nil
}

func knownFlags(specs map[string]flagType) string {
	if len(specs) == 0 {
		return " (this instruction takes no flags)"
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, "--"+n)
	}
	sort.Strings(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}
