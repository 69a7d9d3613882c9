package box

import (
	"fmt"
	"strings"
)

// flags holds parsed options in command-line order.
type flags struct {
	list []flagVal
}

type flagVal struct{ name, val string }

func (f *flags) has(name string) bool {
	for _, v := range f.list {
		if v.name == name {
			return true
		}
	}
	return false
}

// get returns the last value given for name.
func (f *flags) get(name string) (string, bool) {
	for i := len(f.list) - 1; i >= 0; i-- {
		if f.list[i].name == name {
			return f.list[i].val, true
		}
	}
	return "", false
}

// all returns every value given for name, in order.
func (f *flags) all(name string) []string {
	var out []string
	for _, v := range f.list {
		if v.name == name {
			out = append(out, v.val)
		}
	}
	return out
}

// getopt parses POSIX-style options from args (args[0] excluded): bundled
// short flags ("-rf"), values attached or separate ("-n5", "-n 5"), long
// options ("--lines=5", "--lines 5") and "--" to end them. Parsing stops at
// the first operand; "-" alone is an operand.
//
// short is getopt's spec: letters, each followed by ':' when it takes a
// value. Each long entry is "name" or "name:" (takes a value), optionally
// "name=x" to be recorded as the short flag x instead.
func getopt(args []string, short string, long ...string) (*flags, []string, error) {
	type longSpec struct {
		key    string
		hasArg bool
	}
	longs := map[string]longSpec{}
	for _, l := range long {
		name, key, aliased := strings.Cut(l, "=")
		hasArg := strings.HasSuffix(name, ":")
		name = strings.TrimSuffix(name, ":")
		if !aliased {
			key = name
		} else {
			hasArg = strings.Contains(short, key+":")
		}
		longs[name] = longSpec{key, hasArg}
	}
	f := &flags{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			spec, ok := longs[name]
			if !ok {
				return nil, nil, fmt.Errorf("unrecognized option --%s", name)
			}
			if spec.hasArg && !hasVal {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("option --%s needs a value", name)
				}
				i++
				val = args[i]
			} else if !spec.hasArg && hasVal {
				return nil, nil, fmt.Errorf("option --%s takes no value", name)
			}
			f.list = append(f.list, flagVal{spec.key, val})
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(short, c)
			if k < 0 || c == ':' {
				return nil, nil, fmt.Errorf("invalid option -%c", c)
			}
			if k+1 < len(short) && short[k+1] == ':' {
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option -%c needs a value", c)
					}
					i++
					val = args[i]
				}
				f.list = append(f.list, flagVal{string(c), val})
				break
			}
			f.list = append(f.list, flagVal{string(c), ""})
		}
	}
	return f, args[i:], nil
}
