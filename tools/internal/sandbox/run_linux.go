package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initEnv marks the re-executed process as the sandbox's init.
const initEnv = "_STAGEX_SANDBOX_INIT"

// initArgv0 is the init's argv[0], visible as /proc/1/cmdline.
const initArgv0 = "stagex-sandbox-init"

// initConfig is what Run sends to the init over a pipe.
type initConfig struct {
	Root     string
	Args     []string
	Env      []string
	Dir      string
	User     string
	Hostname string
	TmpFS    bool
	SingleID bool
	Pipes    []PipeFile
	// RecordChowns emulates chown in single-id mode (see chown_linux.go).
	RecordChowns bool
	// FileSizeLimit is the largest file the command may write.
	FileSizeLimit int64
	// MaxProcesses bounds the tasks of the pid namespace.
	MaxProcesses int
}

// initResult is what the init sends back over a pipe before it exits.
type initResult struct {
	Err    string  `json:",omitempty"` // setup failed; the command did not run
	Code   int     // exit status
	Signal int     // killing signal, or 0
	Chowns []Chown `json:",omitempty"` // what the chown emulation recorded
	// Tasks is what the pid namespace held when a failed command ended,
	// if near the process limit (see ExitError).
	Tasks int `json:",omitempty"`
}

// config validates spec and fills in defaults.
func (spec *Spec) config() (*initConfig, error) {
	if spec.Root == "" {
		return nil, errors.New("Spec.Root is empty")
	}
	root, err := filepath.Abs(spec.Root)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", spec.Root, err)
	}
	if root == "/" {
		return nil, errors.New("Spec.Root must not be the host's /")
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("root %s is not a directory", root)
	}
	if len(spec.Args) == 0 || spec.Args[0] == "" {
		return nil, errors.New("Spec.Args is empty: no command to run")
	}
	for _, e := range spec.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("Spec.Env entry %q is not KEY=VALUE", e)
		}
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if !path.IsAbs(dir) {
		return nil, fmt.Errorf("Spec.Dir %q is not an absolute path", spec.Dir)
	}
	seen := map[string]bool{}
	for _, f := range spec.Pipes {
		if f.Name == "" || f.Name == "." || f.Name == ".." || strings.Contains(f.Name, "/") || seen[f.Name] {
			return nil, fmt.Errorf("Spec.Pipes: %q is not a file name of its own (no '/', not empty, \".\" or \"..\", given once)", f.Name)
		}
		if f.Mode&^0o7777 != 0 {
			return nil, fmt.Errorf("Spec.Pipes: %s: mode %o has more than permission bits", f.Name, f.Mode)
		}
		seen[f.Name] = true
	}
	host := spec.Hostname
	if host == "" {
		host = DefaultHostname
	}
	if len(host) > 64 {
		return nil, fmt.Errorf("Spec.Hostname %q is longer than 64 bytes", host)
	}
	fileSize := spec.FileSizeLimit
	if fileSize == 0 {
		fileSize = DefaultFileSizeLimit
	}
	if fileSize < 0 {
		return nil, fmt.Errorf("Spec.FileSizeLimit %d is negative", spec.FileSizeLimit)
	}
	maxProcs := spec.MaxProcesses
	if maxProcs == 0 {
		maxProcs = DefaultMaxProcesses
	}
	if maxProcs < MinMaxProcesses {
		return nil, fmt.Errorf("Spec.MaxProcesses %d is below %d, the least the kernel's pid limit can express", spec.MaxProcesses, MinMaxProcesses)
	}
	return &initConfig{
		Root: root, Args: spec.Args, Env: spec.Env, Dir: path.Clean(dir),
		User: spec.User, Hostname: host, TmpFS: spec.TmpFS, Pipes: spec.Pipes,
		RecordChowns: spec.RecordChown != nil, FileSizeLimit: fileSize,
		MaxProcesses: maxProcs,
	}, nil
}

// Run runs spec's command in a new sandbox and waits for it. It returns nil
// if the command exited with status 0, an *ExitError if it exited otherwise
// or was killed by a signal, and another error if the sandbox could not be
// set up or the command could not be started (for instance because it does
// not exist in Root). When ctx is done, every process of the sandbox is
// killed and Run returns ctx's error. When the command exits, processes it
// left behind are killed.
func Run(ctx context.Context, spec Spec) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	cfg, err := spec.config()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	mode := detectIDMode()
	if spec.SingleID {
		mode = singleIDMode()
	}
	cfg.SingleID = mode.single

	points := []string{"proc", "dev"}
	if spec.KeepMountPoints {
		// runc's order: /proc, /dev, then /sys (left empty here: no sysfs
		// is mounted).
		points = []string{"proc", "dev", "sys"}
	}
	if cfg.TmpFS {
		points = append(points, "tmp")
	}
	mp, err := prepareMountPoints(cfg.Root, points)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	err = runInit(ctx, &spec, cfg, mode)
	if spec.KeepMountPoints {
		mp.created = nil
	}
	if cerr := mp.restore(); cerr != nil && err == nil {
		err = fmt.Errorf("sandbox: %w", cerr)
	}
	return err
}

// runInit starts the init in new namespaces and interprets its result.
func runInit(ctx context.Context, spec *Spec, cfg *initConfig, mode idMode) error {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer cfgW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return fmt.Errorf("sandbox: %w", err)
	}
	defer statusR.Close()

	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{initArgv0}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, statusW} // fds 3 and 4
	cmd.SysProcAttr = mode.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Start()
	cfgR.Close()
	statusW.Close()
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) ||
			errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) {
			return fmt.Errorf("sandbox: %w", explainCloneError(err))
		}
		return fmt.Errorf("sandbox: starting init: %w", err)
	}
	// The init reads its whole configuration before doing anything else; a
	// write error means it died, which Wait below reports.
	_ = json.NewEncoder(cfgW).Encode(cfg)
	cfgW.Close()
	out, _ := io.ReadAll(statusR)
	werr := cmd.Wait()

	var res initResult
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sandbox: %w", ctx.Err())
		}
		return fmt.Errorf("sandbox: init died without a result: %v", werr)
	}
	if spec.RecordChown != nil {
		for _, c := range res.Chowns {
			spec.RecordChown(c)
		}
	}
	switch {
	case res.Err != "":
		return errors.New("sandbox: " + res.Err)
	case res.Signal != 0 || res.Code != 0:
		e := &ExitError{Code: res.Code}
		if res.Signal != 0 {
			e.Code, e.Signal = 128+res.Signal, syscall.Signal(res.Signal)
		}
		if res.Tasks != 0 {
			e.Tasks, e.MaxProcesses = res.Tasks, cfg.MaxProcesses
		}
		return e
	}
	return nil
}

// mountPoints records the mount point directories Run created in Root.
type mountPoints struct {
	root    string
	created []string
	before  unix.Timespec // Root's mtime before anything was created
	after   unix.Timespec // Root's mtime right after the last creation
}

// prepareMountPoints makes sure root/name is a directory for every name,
// creating missing ones. A name that exists as anything but a directory
// (a symlink in particular, which could point out of root) is an error.
func prepareMountPoints(root string, names []string) (*mountPoints, error) {
	mp := &mountPoints{root: root}
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	mp.before = st.Mtim
	for _, n := range names {
		p := filepath.Join(root, n)
		fi, err := os.Lstat(p)
		if err == nil {
			if !fi.IsDir() {
				mp.restore()
				return nil, fmt.Errorf("%s is a %s, not a directory; the sandbox mounts over /%s and does not follow it",
					p, describeMode(fi.Mode()), n)
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			mp.restore()
			return nil, err
		}
		// 0755 whatever the umask: kept mount points end up in layers.
		err = os.Mkdir(p, 0o755)
		if err == nil {
			err = os.Chmod(p, 0o755)
		}
		if err != nil {
			mp.restore()
			return nil, fmt.Errorf("creating mount point: %w", err)
		}
		mp.created = append(mp.created, p)
		if err := unix.Lstat(root, &st); err != nil {
			mp.restore()
			return nil, err
		}
		mp.after = st.Mtim
	}
	return mp, nil
}

// restore removes the created mount points and, if nothing else touched
// Root's entries meanwhile, puts Root's mtime back.
func (mp *mountPoints) restore() error {
	if len(mp.created) == 0 {
		return nil
	}
	var st unix.Stat_t
	untouched := unix.Lstat(mp.root, &st) == nil && st.Mtim == mp.after
	var first error
	for i := len(mp.created) - 1; i >= 0; i-- {
		if err := os.Remove(mp.created[i]); err != nil && first == nil {
			first = fmt.Errorf("removing mount point the sandbox created: %w", err)
		}
	}
	mp.created = nil
	if untouched && first == nil {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, mp.before}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, mp.root, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			first = fmt.Errorf("restoring mtime of %s: %w", mp.root, err)
		}
	}
	return first
}

func describeMode(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "regular file"
	default:
		return "special file"
	}
}
