package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/stardoc"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []stardoc.Doc
		wantErr string
	}{
		{
			name: "two documents in order",
			args: []string{"--doc=a.binaryproto=a.vm=docs/a.md", "--doc", "b.binaryproto=b.vm=docs/b.md"},
			want: []stardoc.Doc{
				{Proto: "a.binaryproto", Header: "a.vm", Out: "docs/a.md"},
				{Proto: "b.binaryproto", Header: "b.vm", Out: "docs/b.md"},
			},
		},
		{name: "no document", args: nil, wantErr: "at least one --doc"},
		{name: "two parts", args: []string{"--doc=a.binaryproto=docs/a.md"}, wantErr: "expected PROTO=HEADER=OUT"},
		{name: "empty header", args: []string{"--doc=a.binaryproto==docs/a.md"}, wantErr: "expected PROTO=HEADER=OUT"},
		{name: "argument", args: []string{"--doc=a=b=c", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"--title=x"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				var ue *cli.UsageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("parse(%q) = %v, %v; want a usage error containing %q", tc.args, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parse(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
			}
		})
	}
}
