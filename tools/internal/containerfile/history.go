package containerfile

import (
	"fmt"
	"strings"
)

// The history BuildKit's Dockerfile frontend records for each instruction
// of a stage (dockerfile2llb): which instructions add a layer to the image
// and the created_by text of each entry. The texts are part of the image
// config, so they decide its digest.

// historyOf fills s.History and s.Layer for an instruction of a stage.
// runArgs are the ARGs the stage (and the stages it is based on) declared
// before s, in order; env is the environment in effect.
func historyOf(s *Step, runArgs []KeyValue, env envMap) {
	s.Recorded = true
	switch s.Kind {
	case "RUN":
		s.History = "RUN " + runCommandString(s, runArgs, env) + " # buildkit"
		s.Layer = true
	case "COPY", "ADD":
		var b strings.Builder
		b.WriteString(s.Kind)
		if s.Chown != "" {
			b.WriteString(" --chown=" + s.Chown)
		}
		if s.Chmod != "" {
			b.WriteString(" --chmod=" + s.Chmod)
		}
		for _, src := range s.Srcs {
			b.WriteString(" " + src)
		}
		for _, f := range s.Files {
			b.WriteString(" <<" + f.Name)
		}
		b.WriteString(" " + s.Dest + " # buildkit")
		s.History = b.String()
		s.Layer = true
	case "WORKDIR":
		s.History = "WORKDIR " + s.Workdir
		s.Layer = s.Workdir != "/"
	case "ENV", "LABEL":
		var b strings.Builder
		b.WriteString(s.Kind)
		for _, kv := range s.KV {
			b.WriteString(" " + kv.Key + "=" + kv.Value)
		}
		s.History = b.String()
	case "ARG":
		parts := make([]string, 0, len(s.KV))
		for _, kv := range s.KV {
			if kv.Unset {
				parts = append(parts, kv.Key)
			} else {
				parts = append(parts, kv.Key+"="+kv.Value)
			}
		}
		s.History = "ARG " + strings.Join(parts, " ")
	case "USER":
		s.History = "USER " + s.Value
	case "CMD", "ENTRYPOINT":
		s.History = fmt.Sprintf("%s %q", s.Kind, s.Args)
	case "SHELL":
		s.History = fmt.Sprintf("SHELL %v", s.Args)
	case "VOLUME":
		s.History = fmt.Sprintf("VOLUME %v", s.Args)
	case "STOPSIGNAL":
		s.History = "STOPSIGNAL " + s.Value
	case "MAINTAINER":
		s.History = "MAINTAINER " + s.Value
	case "EXPOSE":
		s.History = fmt.Sprintf("EXPOSE %v", exposedPorts(s.Args))
	default:
		// ONBUILD and HEALTHCHECK: ONBUILD records no history;
		// HEALTHCHECK's text is Go's rendering of BuildKit's own type,
		// which this package does not model.
		s.Recorded = false
	}
}

// runCommandString is BuildKit's created_by text of a RUN after "RUN ":
// "|<n> K=V ..." for the ARGs in scope (each once, with its value in the
// environment, else its declared value), then the command line.
func runCommandString(s *Step, runArgs []KeyValue, env envMap) string {
	var pairs []string
	index := map[string]int{}
	for _, a := range runArgs {
		v, ok := env[a.Key]
		if !ok {
			v = a.Value
		}
		if i, ok := index[a.Key]; ok {
			pairs[i] = a.Key + "=" + v
			continue
		}
		index[a.Key] = len(pairs)
		pairs = append(pairs, a.Key+"="+v)
	}
	if len(pairs) > 0 {
		pairs = append([]string{fmt.Sprintf("|%d", len(pairs))}, pairs...)
	}
	return strings.Join(append(pairs, runArgv(s)...), " ")
}

// runArgv is the command line BuildKit records for a RUN: the exec form
// as written, else the shell with the script (for a heredoc that starts
// with #!, the path it is mounted at).
func runArgv(s *Step) []string {
	if s.Exec != nil {
		return s.Exec
	}
	script := s.Script
	if s.Shebang {
		script = s.ScriptPath
	}
	return append(append([]string(nil), s.Shell...), script)
}

// exposedPorts writes ports as BuildKit lists them: with a protocol
// (tcp unless one is given), sorted.
func exposedPorts(ports []string) []string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		out = append(out, p)
	}
	return out
}
