// Package buildfile turns a translated StageX package into Bazel rules:
// the Gazelle extension (tools/gazelle/stagex) merges them into existing
// BUILD files, and Render writes a fresh BUILD file from them, which is
// how a whole tree is translated in a repository rule
// (tools/cmd/stagex-translate). Both start from Rules, so the two give the
// same targets.
package buildfile

import (
	"github.com/bazelbuild/bazel-gazelle/rule"

	"github.com/stagex/stagex-bazel/tools/internal/translate"
)

// Kinds are the rule kinds Rules and UntranslatedRules generate, in the
// order they appear.
var Kinds = []string{"stagex_stage", "stagex_image_index", "stagex_push", "stagex_digest_test", "stagex_untranslated"}

// Rules returns the targets of p: its stages, then image indexes, pushes
// and digest tests.
func Rules(p *translate.Package) []*rule.Rule {
	var out []*rule.Rule
	for _, t := range p.Targets {
		out = append(out, stageRule(t))
	}
	for _, ix := range p.Indexes {
		r := rule.NewRule("stagex_image_index", ix.Name)
		r.SetAttr("image", ix.Image)
		r.SetAttr("platforms", ix.Platforms)
		r.SetAttr("visibility", []string{"//visibility:public"})
		out = append(out, r)
	}
	for _, ps := range p.Pushes {
		r := rule.NewRule("stagex_push", ps.Name)
		r.SetAttr("image", ps.Image)
		if len(ps.Tags) > 0 {
			r.SetAttr("remote_tags", ps.Tags)
		}
		out = append(out, r)
	}
	for _, t := range p.Tests {
		r := rule.NewRule("stagex_digest_test", t.Name)
		r.SetAttr("image", t.Image)
		r.SetAttr("pins", t.Pins)
		out = append(out, r)
	}
	return out
}

func stageRule(t translate.Target) *rule.Rule {
	r := rule.NewRule("stagex_stage", t.Name)
	r.SetAttr("containerfile", "Containerfile")
	r.SetAttr("stage", t.Stage)
	if t.Base != "" {
		r.SetAttr("base", t.Base)
	}
	if len(t.Images) > 0 {
		r.SetAttr("images", t.Images)
	}
	if len(t.Sources) > 0 {
		r.SetAttr("sources", t.Sources)
	}
	if len(t.Context) > 0 {
		r.SetAttr("context", t.Context)
	}
	if len(t.BuildArgs) > 0 {
		r.SetAttr("build_args", t.BuildArgs)
	}
	if len(t.Platforms) > 0 {
		// Pinned packages build for their platform (the stage transition).
		r.SetAttr("platforms", t.Platforms)
	}
	if t.ImageName != "" {
		// Published images are what other packages and modules use.
		r.SetAttr("image_name", t.ImageName)
		r.SetAttr("visibility", []string{"//visibility:public"})
	}
	return r
}

// Render returns a whole BUILD file for p: a header comment, a load of the
// rules it uses from rulesLabel (e.g. "@stagex//rules:defs.bzl"), and its
// targets, formatted as buildifier would.
func Render(p *translate.Package, rulesLabel, header string) []byte {
	f := rule.EmptyFile(p.Rel+"/BUILD.bazel", p.Rel)
	rules := Rules(p)
	used := map[string]bool{}
	for _, r := range rules {
		used[r.Kind()] = true
	}
	load := rule.NewLoad(rulesLabel)
	for _, k := range Kinds {
		if used[k] {
			load.Add(k)
		}
	}
	load.Insert(f, 0)
	for _, r := range rules {
		r.Insert(f)
	}
	out := f.Format()
	if header != "" {
		out = append([]byte(header), out...)
	}
	return out
}

// UntranslatedRules returns the targets of package directory rel, which
// does not translate: a stagex_untranslated target (tagged manual) under
// each name that other packages may use, failing with why when analysed.
func UntranslatedRules(targets []string, why string) []*rule.Rule {
	var out []*rule.Rule
	for _, name := range targets {
		r := rule.NewRule("stagex_untranslated", name)
		r.SetAttr("error", why)
		r.SetAttr("tags", []string{"manual"})
		r.SetAttr("visibility", []string{"//visibility:public"})
		out = append(out, r)
	}
	return out
}

// Untranslated returns a whole BUILD file of UntranslatedRules for package
// directory rel.
func Untranslated(rel string, targets []string, why, rulesLabel, header string) []byte {
	f := rule.EmptyFile(rel+"/BUILD.bazel", rel)
	load := rule.NewLoad(rulesLabel)
	load.Add("stagex_untranslated")
	load.Insert(f, 0)
	for _, r := range UntranslatedRules(targets, why) {
		r.Insert(f)
	}
	out := f.Format()
	if header != "" {
		out = append([]byte(header), out...)
	}
	return out
}
