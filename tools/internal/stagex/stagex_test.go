package stagex

import (
	"slices"
	"strings"
	"testing"
)

// The cases where the four image-name checks this package replaced
// disagreed are marked with the copy that decided otherwise.
func TestParseImageName(t *testing.T) {
	tests := []struct {
		image      string
		tier, name string
		err        string
	}{
		{"core-make", "core", "make", ""},
		{"bootstrap-stage0", "bootstrap", "stage0", ""},
		{"core-cross-x86_64-gnu-gcc", "core", "cross-x86_64-gnu-gcc", ""},
		{"user-py-ruamel.yaml", "user", "py-ruamel.yaml", ""},
		{"user-py-prompt_toolkit", "user", "py-prompt_toolkit", ""},
		{"pallet-a__b", "pallet", "a__b", ""},
		{"user-a.b_c", "user", "a.b_c", ""},
		{"core-a--b", "core", "a--b", ""},
		{"make", "", "", "expected <tier>-<name>"},
		{"core-", "", "", "expected <tier>-<name>"},
		{"-make", "", "", "expected <tier>-<name>"},
		// The pin files accepted any stage, upper case and '+'.
		{"extra-gcc", "", "", "stage one of bootstrap, core, pallet, user"},
		{"box-grub", "", "", "expected <tier>-<name>"},
		{"Core-make", "", "", "expected <tier>-<name>"},
		{"core-Make", "", "", `"Make" is not a valid package name (character 'M')`},
		{"core-g++", "", "", `"g++" is not a valid package name (character '+')`},
		// Containerfile references accepted any run of separators.
		{"core-a___b", "", "", "not a valid package name (its separators)"},
		{"core-a._b", "", "", "not a valid package name"},
		{"core-a..b", "", "", "not a valid package name"},
		{"core-a-", "", "", "not a valid package name"},
		{"core-a--", "", "", "not a valid package name"},
		{"core-a/b", "", "", "(character '/')"},
	}
	for _, tt := range tests {
		tier, name, err := ParseImageName(tt.image)
		if tt.err == "" {
			if err != nil || tier != tt.tier || name != tt.name {
				t.Errorf("ParseImageName(%q) = %q, %q, %v; want %q, %q", tt.image, tier, name, err, tt.tier, tt.name)
			}
			if got := ImageName(tier, name); got != tt.image {
				t.Errorf("ImageName(%q, %q) = %q, want %q", tier, name, got, tt.image)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.image) {
			t.Errorf("ParseImageName(%q) = %q, %q, %v; want an error naming it and saying %q", tt.image, tier, name, err, tt.err)
		}
	}
}

func TestIsTier(t *testing.T) {
	for _, s := range []string{"bootstrap", "core", "pallet", "user"} {
		if !IsTier(s) {
			t.Errorf("IsTier(%q) = false", s)
		}
	}
	for _, s := range []string{"", "Core", "stage0", "extra"} {
		if IsTier(s) {
			t.Errorf("IsTier(%q) = true", s)
		}
	}
}

func TestDigest(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		in   string
		want string // the hex ParseDigest returns; "" for an error
	}{
		{"sha256:" + hex, hex},
		{hex, ""},
		{"sha256:" + strings.ToUpper(hex), ""},
		{"sha256:" + hex[1:], ""},
		{"sha256:" + hex + "0", ""},
		{"sha256:" + hex[1:] + "g", ""},
		{"sha512:" + hex, ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ParseDigest(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("ParseDigest(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && (!strings.Contains(err.Error(), tt.in) || !strings.Contains(err.Error(), "64 lowercase hex")) {
			t.Errorf("ParseDigest(%q): error %q should name the input and what was expected", tt.in, err)
		}
		bare := strings.TrimPrefix(tt.in, "sha256:")
		if want := tt.want != "" || bare == hex; IsSHA256Hex(bare) != want {
			t.Errorf("IsSHA256Hex(%q) = %v, want %v", bare, !want, want)
		}
	}
}

// TestParsePlatform checks both parsers on the same inputs: ParsePlatform
// takes a platform exactly as written, NormalizePlatform the way BuildKit
// reads --platform. "" wants an error that names the input.
func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in, exact, normal string
	}{
		{"linux/amd64", "linux/amd64", "linux/amd64"},
		{"linux/arm64/v8", "linux/arm64/v8", "linux/arm64"},
		{"linux/x86_64", "linux/x86_64", "linux/amd64"},
		{"linux/amd64/v1", "linux/amd64/v1", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3", "linux/amd64/v3"},
		{"linux/aarch64", "linux/aarch64", "linux/arm64"},
		{"linux/arm", "linux/arm", "linux/arm/v7"},
		{"linux/armhf", "linux/armhf", "linux/arm/v7"},
		{"linux/armel", "linux/armel", "linux/arm/v6"},
		{"linux/arm/v6", "linux/arm/v6", "linux/arm/v6"},
		{"linux/386", "linux/386", "linux/386"},
		{"linux/i686", "linux/i686", "linux/386"},
		{"Linux/amd64", "", "linux/amd64"},
		{"Linux/RISCV64", "", "linux/riscv64"},
		{"linux", "", ""},
		{"linux/", "", ""},
		{"linux//amd64", "", ""},
		{"linux//v7", "", ""},
		{"linux/amd64/v2/x", "", ""},
		{"linux/amd 64", "", ""},
		{"linux/amd64:10", "", ""},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name  string
			parse func(string) (Platform, error)
			want  string
		}{
			{"ParsePlatform", ParsePlatform, tt.exact},
			{"NormalizePlatform", NormalizePlatform, tt.normal},
		} {
			p, err := c.parse(tt.in)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), `"`+tt.in+`"`) || !strings.Contains(err.Error(), "os/architecture[/variant]") {
					t.Errorf("%s(%q) = %v, %v; want an error naming it and os/architecture[/variant]", c.name, tt.in, p, err)
				}
				continue
			}
			if err != nil || p.String() != c.want {
				t.Errorf("%s(%q) = %v, %v; want %s", c.name, tt.in, p, err, c.want)
			}
		}
	}
}

// Every platform StageX builds for is written the one way ParsePlatform
// reads and NormalizePlatform leaves alone, and the default is one of them.
func TestPlatforms(t *testing.T) {
	for _, pl := range Platforms {
		p, err := ParsePlatform(pl)
		if err != nil || p.String() != pl {
			t.Errorf("Platforms: %q does not parse as itself: %v, %v", pl, p, err)
		}
		if n, err := NormalizePlatform(pl); err != nil || n != p {
			t.Errorf("Platforms: %q is not normal: NormalizePlatform gives %v, %v", pl, n, err)
		}
	}
	if !slices.Contains(Platforms, DefaultPlatform) {
		t.Errorf("DefaultPlatform %q is not one of Platforms %q", DefaultPlatform, Platforms)
	}
}

func TestEpoch(t *testing.T) {
	if got := Epoch.Format("2006-01-02T15:04:05Z07:00"); got != "1970-01-01T00:00:01Z" {
		t.Errorf("Epoch = %s, want 1970-01-01T00:00:01Z (SOURCE_DATE_EPOCH=1, as StageX builds)", got)
	}
}
