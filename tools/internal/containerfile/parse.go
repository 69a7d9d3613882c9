package containerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// fileParser holds the state of one Parse call.
type fileParser struct {
	path   string
	opts   Options
	x      *expander
	file   *File
	global *scope
	// buildArgs are Options.BuildArgs (never nil).
	buildArgs map[string]string
	// globalValues are the values ARGs inherit from global scope when
	// re-declared without default: automatic args and global ARGs.
	globalValues envMap
	// names maps every stage name in the file to its FROM line, to tell
	// "defined later" from "unknown".
	names  map[string]int
	scopes []*scope
	// parsed counts the bytes the file yields so far (MaxParsedSize).
	parsed int64
}

// Parse parses a Containerfile. path is used in error messages, which all
// have the form "path:line: message".
func Parse(path string, data []byte, opts Options) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, diag.Errorf(path, lineAt(data, MaxFileSize), "the file is larger than %d bytes (MaxFileSize)", MaxFileSize)
	}
	// BuildKit's lexer prints to stderr on bad bytes; refuse them first.
	if at, what := badText(data); what != "" {
		return nil, diag.Errorf(path, 1+bytes.Count(data[:at], []byte("\n")), "%s: a Containerfile must be UTF-8 text", what)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, parserError(path, err)
	}
	x := newExpander(res.EscapeToken)
	x.strict = opts.StrictVars
	p := &fileParser{
		path:      path,
		opts:      opts,
		x:         x,
		file:      &File{Path: path},
		buildArgs: opts.BuildArgs,
		names:     map[string]int{},
	}
	if p.buildArgs == nil {
		p.buildArgs = map[string]string{}
	}
	p.initGlobals()
	p.scanStageNames(res.AST.Children)

	var st *Stage
	var sc *scope
	for _, n := range res.AST.Children {
		kind := strings.ToUpper(n.Value)
		switch {
		case instructionSize(n) > MaxInstructionSize:
			err = fmt.Errorf("%s: an instruction of more than %d bytes (MaxInstructionSize)", kind, MaxInstructionSize)
		case kind == "FROM" && len(p.file.Stages) >= MaxStages:
			err = fmt.Errorf("FROM: more than %d stages (MaxStages)", MaxStages)
		case kind == "FROM":
			if st != nil {
				p.closeStage(st, sc)
			}
			st, sc, err = p.from(n)
		case st == nil && kind == "ARG":
			err = p.globalArg(n)
		case st == nil:
			if _, known := command.Commands[strings.ToLower(kind)]; !known {
				err = fmt.Errorf("unknown instruction %q", n.Value)
			} else {
				err = fmt.Errorf("%s before the first FROM: only ARG may come before FROM", kind)
			}
		default:
			err = p.step(st, sc, n)
		}
		if err != nil {
			return nil, p.wrap(n.StartLine, err)
		}
	}
	if st == nil {
		return nil, diag.Errorf(path, 0, "no FROM instruction: a Containerfile needs at least one stage")
	}
	p.closeStage(st, sc)
	return p.file, nil
}

// badText returns the offset and a description of the first byte
// sequence that is not UTF-8 text, or "" if there is none.
func badText(data []byte) (int, string) {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return i, "invalid UTF-8"
		case r == 0:
			return i, "NUL byte"
		}
		i += n
	}
	return 0, ""
}

// parserError turns an error of BuildKit's parser into a diag error at the
// line the parser reports.
func parserError(path string, err error) error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "dockerfile line greater than") {
		// The parser reports the last line it read in full; the
		// offending line is the next one.
		return diag.Errorf(path, line+1, "line longer than %d bytes", bufio.MaxScanTokenSize-1)
	}
	switch msg {
	case "file with no instructions":
		return diag.Errorf(path, 0, "empty file: no instructions (a Containerfile needs at least a FROM)")
	case "unterminated heredoc":
		return diag.Errorf(path, line, "unterminated heredoc: the file ends before the line holding the heredoc's closing delimiter")
	}
	return diag.Errorf(path, line, "%s", msg)
}

func (p *fileParser) wrap(line int, err error) error {
	var d *diag.Error
	if errors.As(err, &d) {
		return err
	}
	return diag.Errorf(p.path, line, "%v", err)
}

// initGlobals sets up the automatic platform ARGs.
func (p *fileParser) initGlobals() {
	target := p.opts.TargetPlatform
	if isZero(target) {
		target, _ = stagex.ParsePlatform(stagex.DefaultPlatform)
	}
	build := p.opts.BuildPlatform
	if isZero(build) {
		build = target
	}
	auto := map[string]string{
		"TARGETPLATFORM": target.String(), "TARGETOS": target.OS, "TARGETARCH": target.Arch, "TARGETVARIANT": target.Variant,
		"BUILDPLATFORM": build.String(), "BUILDOS": build.OS, "BUILDARCH": build.Arch, "BUILDVARIANT": build.Variant,
	}
	p.global = &scope{env: envMap{}, args: map[string]bool{}, global: true}
	p.globalValues = envMap{}
	for k, v := range auto {
		if o, ok := p.buildArgs[k]; ok {
			v = o
		}
		p.global.env[k] = v
		p.globalValues[k] = v
	}
}

// scanStageNames records the name of every stage before any is parsed.
func (p *fileParser) scanStageNames(nodes []*parser.Node) {
	for _, n := range nodes {
		if !strings.EqualFold(n.Value, "FROM") {
			continue
		}
		args := nodeArgs(n)
		if len(args) == 3 && strings.EqualFold(args[1], "as") {
			name := strings.ToLower(args[2])
			if _, ok := p.names[name]; !ok {
				p.names[name] = n.StartLine
			}
		}
	}
}

// nodeArgs lists the argument nodes of an instruction.
func nodeArgs(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

var (
	argNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	stageNameRe = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)
)

// splitArg splits an ARG word into name and optional default.
func splitArg(word string) (name string, def *string, err error) {
	name, value, hasValue := strings.Cut(word, "=")
	if !argNameRe.MatchString(name) {
		return "", nil, fmt.Errorf("ARG: bad name %q: want letters, digits and _ not starting with a digit", name)
	}
	if hasValue {
		def = &value
	}
	return name, def, nil
}

// globalArg handles an ARG before the first FROM: the value is the build
// argument if given, else the default expanded with the global ARGs so
// far.
func (p *fileParser) globalArg(n *parser.Node) error {
	if _, err := parseFlags("ARG", n.Flags); err != nil {
		return err
	}
	words := nodeArgs(n)
	if len(words) == 0 {
		return fmt.Errorf("ARG requires at least one argument")
	}
	for _, w := range words {
		name, def, err := splitArg(w)
		if err != nil {
			return err
		}
		kv := KeyValue{Key: name}
		if v, ok := p.buildArgs[name]; ok {
			kv.Value = v
		} else if def != nil {
			v, err := p.x.word(*def, p.global)
			if err != nil {
				return fmt.Errorf("ARG %s: %v", name, err)
			}
			kv.Value = v
		} else {
			kv.Unset = true
		}
		p.global.args[name] = true
		p.x.globalArgs[name] = true
		if kv.Unset {
			p.global.unsetVar(name)
			delete(p.globalValues, name)
		} else {
			p.global.setVar(name, kv.Value)
			p.globalValues[name] = kv.Value
		}
		if err := checkEnv(p.global.env); err != nil {
			return fmt.Errorf("ARG %s: %v", name, err)
		}
		if err := p.charge(len(name) + len(kv.Value) + 32); err != nil {
			return err
		}
		p.file.Args = append(p.file.Args, kv)
	}
	return nil
}

// resolve maps an image reference to scratch, an earlier stage or a
// package, naming a stage that is only defined later.
func (p *fileParser) resolve(raw string, what string, earlier []*Stage) (Ref, error) {
	ref, err := ParseRef(raw, earlier)
	if err == nil {
		return ref, nil
	}
	if len(earlier) < len(p.file.Stages) {
		cur := p.file.Stages[len(earlier)]
		if (cur.Name != "" && cur.Name == strings.ToLower(raw)) || raw == fmt.Sprint(cur.Index) {
			return Ref{}, fmt.Errorf("%s: stage %q cannot copy from itself", what, raw)
		}
	}
	if line, ok := p.names[strings.ToLower(raw)]; ok {
		return Ref{}, fmt.Errorf("%s: stage %q is defined later, at line %d; a stage can only use earlier stages", what, raw, line)
	}
	return Ref{}, fmt.Errorf("%s: %v", what, err)
}

// from starts a stage.
func (p *fileParser) from(n *parser.Node) (*Stage, *scope, error) {
	flags, err := parseFlags("FROM", n.Flags)
	if err != nil {
		return nil, nil, err
	}
	args := nodeArgs(n)
	name := ""
	switch {
	case len(args) == 3 && strings.EqualFold(args[1], "as"):
		name = strings.ToLower(args[2])
		if !stageNameRe.MatchString(name) {
			return nil, nil, fmt.Errorf("FROM: bad stage name %q: want a lower-case letter followed by letters, digits, -, _ or .", args[2])
		}
		for _, s := range p.file.Stages {
			if s.Name == name {
				return nil, nil, fmt.Errorf("FROM: stage name %q is already used at line %d", name, s.Line)
			}
		}
		for _, c := range BuildContexts {
			if name == c {
				return nil, nil, fmt.Errorf("FROM: stage name %q is the name of a build context StageX passes; BuildKit would use the context in place of this stage", name)
			}
		}
	case len(args) != 1:
		return nil, nil, fmt.Errorf("FROM requires either one argument or three (FROM <image> AS <name>)")
	}
	raw, err := p.x.word(args[0], p.global)
	if err != nil {
		return nil, nil, fmt.Errorf("FROM: %v", err)
	}
	if raw == "" {
		return nil, nil, fmt.Errorf("FROM: image %q expands to nothing", args[0])
	}
	if isDecimal(raw) {
		return nil, nil, fmt.Errorf("FROM: %q: a stage index is only allowed in COPY --from; use the stage name", raw)
	}
	ref, err := p.resolve(raw, "FROM", p.file.Stages)
	if err != nil {
		return nil, nil, err
	}
	if ref.Kind == ContextRef {
		return nil, nil, fmt.Errorf("FROM %s: the build context %s holds source files, not an image; COPY --from=%s them instead", raw, raw, raw)
	}
	st := &Stage{Index: len(p.file.Stages), Name: name, Line: n.StartLine, Base: ref}
	if flags.has("platform") {
		v, err := p.x.word(flags.get("platform"), p.global)
		if err != nil {
			return nil, nil, fmt.Errorf("FROM --platform: %v", err)
		}
		pl, err := stagex.NormalizePlatform(v)
		if err != nil {
			return nil, nil, fmt.Errorf("FROM --platform: %v", err)
		}
		st.Platform = pl.String()
	}

	var sc *scope
	switch ref.Kind {
	case StageRef:
		parent := p.file.Stages[ref.Stage]
		sc = p.scopes[ref.Stage].clone()
		if st.Platform == "" {
			st.Platform = parent.Platform
		}
	case PackageRef:
		sc = &scope{env: envMap{}, args: map[string]bool{}}
		if p.opts.BaseImage != nil {
			cfg, err := p.opts.BaseImage(ref)
			if err != nil {
				return nil, nil, fmt.Errorf("FROM %s: %v", raw, err)
			}
			if cfg != nil {
				sc.cfg = cfg.clone()
			}
		}
	default:
		sc = &scope{env: envMap{}, args: map[string]bool{}}
	}
	// As in BuildKit: the image's PATH defaults, and the image's
	// environment is laid over what the base stage's state carried.
	hasPath := false
	for _, kv := range sc.cfg.Env {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" {
			hasPath = true
		}
	}
	if !hasPath {
		sc.cfg.Env = append(sc.cfg.Env, "PATH="+DefaultPath)
	}
	for _, kv := range sc.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		sc.setVar(k, v)
	}
	// The stage's scope is a copy of its base's.
	if err := p.charge(sc.env.size() + 64*len(sc.env) + 16*len(sc.cfg.Env)); err != nil {
		return nil, nil, err
	}
	p.file.Stages = append(p.file.Stages, st)
	p.scopes = append(p.scopes, sc)
	return st, sc, nil
}

func (p *fileParser) closeStage(st *Stage, sc *scope) {
	st.Config = sc.cfg.clone()
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// step handles one instruction inside a stage.
func (p *fileParser) step(st *Stage, sc *scope, n *parser.Node) error {
	kind := strings.ToUpper(n.Value)
	if _, known := command.Commands[strings.ToLower(kind)]; !known {
		return fmt.Errorf("unknown instruction %q", n.Value)
	}
	flags, err := parseFlags(kind, n.Flags)
	if err != nil {
		return err
	}
	s := Step{
		Line:     n.StartLine,
		Kind:     kind,
		Original: n.Original,
		Flags:    append([]string(nil), n.Flags...),
		Workdir:  sc.workdir(),
		User:     sc.cfg.User,
		Shell:    sc.shell(),
	}
	if err := p.setEnv(&s, sc); err != nil {
		return err
	}
	args := nodeArgs(n)
	isJSON := n.Attributes["json"]
	if !isJSON && looksLikeJSON(strings.Join(args, " ")) {
		switch kind {
		case "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME", "HEALTHCHECK":
			return fmt.Errorf("%s: malformed exec form %q: a JSON array of double-quoted strings was expected", kind, strings.Join(args, " "))
		}
	}

	switch kind {
	case "RUN":
		err = p.run(&s, n, flags, args, isJSON)
	case "COPY", "ADD":
		err = p.copy(&s, sc, n, flags, args)
	case "ENV", "LABEL":
		err = p.env(&s, sc, args)
	case "ARG":
		err = p.arg(&s, sc, args)
	case "WORKDIR":
		if len(args) != 1 {
			return fmt.Errorf("WORKDIR requires exactly one argument")
		}
		if s.Value, err = p.x.word(args[0], sc); err != nil {
			return fmt.Errorf("WORKDIR: %v", err)
		}
		if s.Value == "" {
			return fmt.Errorf("WORKDIR: %q expands to nothing", args[0])
		}
		sc.cfg.WorkingDir = path.Join(sc.workdir(), s.Value)
		if path.IsAbs(s.Value) {
			sc.cfg.WorkingDir = path.Clean(s.Value)
		}
		s.Workdir = sc.cfg.WorkingDir
	case "USER":
		if len(args) != 1 {
			return fmt.Errorf("USER requires exactly one argument")
		}
		if s.Value, err = p.x.word(args[0], sc); err != nil {
			return fmt.Errorf("USER: %v", err)
		}
		sc.cfg.User = s.Value
		s.User = s.Value
	case "SHELL":
		if !isJSON {
			return fmt.Errorf("SHELL requires the exec form, a JSON array such as [\"/bin/sh\", \"-c\"]")
		}
		if len(args) == 0 {
			return fmt.Errorf("SHELL requires at least one argument")
		}
		s.Args, s.ExecForm = args, true
		sc.cfg.Shell = append([]string(nil), args...)
		s.Shell = sc.shell()
	case "ENTRYPOINT", "CMD":
		err = p.command(&s, sc, args, isJSON)
	case "EXPOSE":
		if len(args) == 0 {
			return fmt.Errorf("EXPOSE requires at least one argument")
		}
		for _, a := range args {
			ws, err := p.x.words(a, sc)
			if err != nil {
				return fmt.Errorf("EXPOSE: %v", err)
			}
			s.Args = append(s.Args, ws...)
		}
		sc.cfg.ExposedPorts = append(sc.cfg.ExposedPorts, s.Args...)
	case "VOLUME":
		if len(args) == 0 {
			return fmt.Errorf("VOLUME requires at least one argument")
		}
		for _, a := range args {
			v, err := p.x.word(a, sc)
			if err != nil {
				return fmt.Errorf("VOLUME: %v", err)
			}
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME: empty path")
			}
			s.Args = append(s.Args, v)
		}
		sc.cfg.Volumes = append(sc.cfg.Volumes, s.Args...)
	case "STOPSIGNAL":
		if len(args) != 1 {
			return fmt.Errorf("STOPSIGNAL requires exactly one argument")
		}
		if s.Value, err = p.x.word(args[0], sc); err != nil {
			return fmt.Errorf("STOPSIGNAL: %v", err)
		}
		sc.cfg.StopSignal = s.Value
	case "MAINTAINER":
		if len(args) != 1 {
			return fmt.Errorf("MAINTAINER requires exactly one argument")
		}
		s.Value = args[0]
	case "HEALTHCHECK":
		if len(args) == 0 {
			return fmt.Errorf("HEALTHCHECK requires at least one argument (CMD ... or NONE)")
		}
		switch strings.ToUpper(args[0]) {
		case "NONE":
			if len(args) != 1 {
				return fmt.Errorf("HEALTHCHECK NONE takes no other arguments")
			}
		case "CMD":
			if len(args) < 2 {
				return fmt.Errorf("HEALTHCHECK CMD requires a command")
			}
		default:
			return fmt.Errorf("HEALTHCHECK: unknown type %q, want CMD or NONE", args[0])
		}
		s.Args, s.ExecForm = args, isJSON
	case "ONBUILD":
		err = p.onbuild(&s, n)
	case "FROM":
		// handled by the caller
	}
	if err != nil {
		return err
	}
	historyOf(&s, sc.runArgs, sc.env)
	if err := p.charge(stepSize(&s)); err != nil {
		return err
	}
	if kind == "ARG" {
		sc.runArgs = append(sc.runArgs, s.KV...)
	}
	st.Steps = append(st.Steps, s)
	return nil
}

// looksLikeJSON reports whether a non-JSON argument was meant as an exec
// form: it opens like a JSON array of strings. A shell test such as
// "[ -d x ]" does not.
func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, `["`) || strings.HasPrefix(s, `['`) || s == "[]"
}

func (p *fileParser) run(s *Step, n *parser.Node, flags flagValues, args []string, isJSON bool) error {
	s.Network = flags.get("network")
	switch s.Network {
	case "", "default", "none", "host":
	default:
		return fmt.Errorf("RUN --network=%s: want default, none or host", s.Network)
	}
	s.Security = flags.get("security")
	switch s.Security {
	case "", "sandbox", "insecure":
	default:
		return fmt.Errorf("RUN --security=%s: want sandbox or insecure", s.Security)
	}
	s.Mounts = flags["mount"]
	s.Devices = flags["device"]
	if isJSON {
		if len(args) == 0 {
			return fmt.Errorf("RUN requires a command")
		}
		s.Exec, s.ExecForm = args, true
		return nil
	}
	cmdline := strings.Join(args, " ")
	if strings.TrimSpace(cmdline) == "" {
		return fmt.Errorf("RUN requires a command")
	}
	for _, h := range n.Heredocs {
		s.Heredocs = append(s.Heredocs, heredoc(h))
	}
	switch {
	case len(n.Heredocs) == 0:
		s.Script = cmdline
	case parser.MustParseHeredoc(cmdline) != nil:
		// RUN <<EOF: the document is the script.
		s.Script = s.Heredocs[0].Content
		if strings.HasPrefix(s.Script, "#!") {
			s.Shebang = true
			s.ScriptPath = path.Join(ScriptDir, s.Heredocs[0].Name)
		}
	default:
		// Heredocs feed a command: the shell gets the command line
		// followed by the documents, as written.
		var b strings.Builder
		b.WriteString(cmdline)
		for _, h := range n.Heredocs {
			b.WriteByte('\n')
			b.WriteString(h.Content)
			b.WriteString(h.Name)
		}
		s.Script = b.String()
	}
	return nil
}

// heredoc converts a parsed heredoc, stripping tabs for <<-.
func heredoc(h parser.Heredoc) Heredoc {
	content := h.Content
	if h.Chomp {
		content = parser.ChompHeredocContent(content)
	}
	return Heredoc{Name: h.Name, Content: content, Expand: h.Expand, Chomp: h.Chomp}
}

func (p *fileParser) copy(s *Step, sc *scope, n *parser.Node, flags flagValues, args []string) error {
	kind := s.Kind
	if len(args) < 2 {
		return fmt.Errorf("%s requires at least a source and a destination", kind)
	}
	dest := args[len(args)-1]
	if parser.MustParseHeredoc(dest) != nil {
		return fmt.Errorf("%s cannot take a heredoc as its destination", kind)
	}
	docs := map[string]parser.Heredoc{}
	for _, h := range n.Heredocs {
		docs[h.Name] = h
	}
	for _, src := range args[:len(args)-1] {
		if h := parser.MustParseHeredoc(src); h != nil {
			doc, ok := docs[h.Name]
			if !ok {
				return fmt.Errorf("%s: heredoc %q has no body", kind, h.Name)
			}
			f := heredoc(doc)
			if f.Expand {
				v, err := p.x.document(f.Content, sc)
				if err != nil {
					return fmt.Errorf("%s <<%s: %v", kind, h.Name, err)
				}
				f.Content = v
			}
			s.Files = append(s.Files, f)
			continue
		}
		v, err := p.x.word(src, sc)
		if err != nil {
			return fmt.Errorf("%s: %v", kind, err)
		}
		s.Srcs = append(s.Srcs, v)
	}
	var err error
	if s.Dest, err = p.x.word(dest, sc); err != nil {
		return fmt.Errorf("%s: %v", kind, err)
	}
	if s.Dest == "" {
		return fmt.Errorf("%s: destination %q expands to nothing", kind, dest)
	}
	if s.Chmod, err = p.x.word(flags.get("chmod"), sc); err != nil {
		return fmt.Errorf("%s --chmod: %v", kind, err)
	}
	if s.Chown, err = p.x.word(flags.get("chown"), sc); err != nil {
		return fmt.Errorf("%s --chown: %v", kind, err)
	}
	s.Link = flags.get("link") == "true"
	s.Unpack = flags.get("unpack")
	if flags.has("from") {
		from := flags.get("from")
		if strings.ContainsRune(from, '$') {
			return fmt.Errorf("COPY --from=%s: variable expansion is not supported in --from; start a stage FROM a global ARG instead", from)
		}
		if from == "" {
			return fmt.Errorf("COPY --from: empty source")
		}
		ref, err := p.resolve(from, "COPY --from", p.file.Stages[:len(p.file.Stages)-1])
		if err != nil {
			return err
		}
		s.From = &ref
	}
	return nil
}

func (p *fileParser) env(s *Step, sc *scope, args []string) error {
	kind := s.Kind
	if len(args) == 0 || len(args)%3 != 0 {
		return fmt.Errorf("%s requires at least one key and value", kind)
	}
	// All values see the environment from before the instruction.
	for i := 0; i < len(args); i += 3 {
		k, err := p.x.word(args[i], sc)
		if err != nil {
			return fmt.Errorf("%s: %v", kind, err)
		}
		if k == "" {
			return fmt.Errorf("%s: blank name", kind)
		}
		v, err := p.x.word(args[i+1], sc)
		if err != nil {
			return fmt.Errorf("%s %s: %v", kind, k, err)
		}
		s.KV = append(s.KV, KeyValue{Key: k, Value: v})
	}
	for _, kv := range s.KV {
		if kind == "ENV" {
			sc.setImageEnv(kv.Key, kv.Value)
			continue
		}
		if sc.cfg.Labels == nil {
			sc.cfg.Labels = map[string]string{}
		}
		sc.cfg.Labels[kv.Key] = kv.Value
	}
	if kind == "ENV" {
		if err := checkEnv(sc.env); err != nil {
			return fmt.Errorf("ENV: %v", err)
		}
		return p.setEnv(s, sc)
	}
	return nil
}

// setEnv gives s the environment of sc, shared with the steps before it
// when it has not changed, and counts what is new.
func (p *fileParser) setEnv(s *Step, sc *scope) error {
	env, built := sc.sortedEnv()
	s.Env = env
	return p.charge(built)
}

// arg handles an ARG inside a stage: the value is the build argument if
// given, else the default (expanded, seeing earlier ARGs of the same
// line), else the global value of the same name.
func (p *fileParser) arg(s *Step, sc *scope, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("ARG requires at least one argument")
	}
	for _, w := range args {
		name, def, err := splitArg(w)
		if err != nil {
			return err
		}
		kv := KeyValue{Key: name}
		switch v, ok := p.buildArgs[name]; {
		case ok:
			kv.Value = v
		case def != nil:
			if kv.Value, err = p.x.word(*def, sc); err != nil {
				return fmt.Errorf("ARG %s: %v", name, err)
			}
		default:
			kv.Value, ok = p.globalValues[name]
			kv.Unset = !ok
		}
		sc.args[name] = true
		if !kv.Unset {
			sc.setVar(name, kv.Value)
		}
		if err := checkEnv(sc.env); err != nil {
			return fmt.Errorf("ARG %s: %v", name, err)
		}
		s.KV = append(s.KV, kv)
	}
	return p.setEnv(s, sc)
}

func (p *fileParser) command(s *Step, sc *scope, args []string, isJSON bool) error {
	if isJSON {
		s.Args, s.ExecForm = args, true
	} else {
		s.Value = strings.Join(args, " ")
		if s.Value != "" {
			s.Args = append(sc.shell(), s.Value)
		}
	}
	if s.Kind == "CMD" {
		sc.cfg.Cmd = append([]string(nil), s.Args...)
		sc.cfg.ArgsEscaped = true
	} else {
		sc.cfg.Entrypoint = append([]string(nil), s.Args...)
		if !p.cmdSetInStage() {
			sc.cfg.Cmd = nil
		}
	}
	return nil
}

// cmdSetInStage reports whether a CMD came earlier in the current stage;
// BuildKit resets an inherited CMD when ENTRYPOINT is set.
func (p *fileParser) cmdSetInStage() bool {
	st := p.file.Stages[len(p.file.Stages)-1]
	for _, s := range st.Steps {
		if s.Kind == "CMD" {
			return true
		}
	}
	return false
}

func (p *fileParser) onbuild(s *Step, n *parser.Node) error {
	if n.Next == nil || len(n.Next.Children) == 0 {
		return fmt.Errorf("ONBUILD requires an instruction")
	}
	sub := n.Next.Children[0]
	trigger := strings.ToUpper(sub.Value)
	switch trigger {
	case "ONBUILD", "FROM", "MAINTAINER":
		return fmt.Errorf("ONBUILD: %s is not allowed as a trigger", trigger)
	}
	if _, known := command.Commands[strings.ToLower(trigger)]; !known {
		return fmt.Errorf("ONBUILD: unknown instruction %q", sub.Value)
	}
	s.Value = strings.TrimSpace(sub.Original)
	return nil
}
